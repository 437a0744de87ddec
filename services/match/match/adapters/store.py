"""The match service's repository: its own projection (applicants, tracks, calendar),
rank order lists, the state of each round, stored results, runs and their step logs.

Returns domain objects. Every lock and first-write-wins is a DynamoDB condition or
transaction, never read-then-write (DESIGN rule 9). A store failure a retry may cure
surfaces as TransientStoreError, the name the state machine retries on.

The writes of a run's steps that announce something (stored results, a release, the MPII
participants, a failed run) commit their state and their outbox items (shared.outbox) in
ONE transaction, conditioned first-write-wins: the attempt that writes the state announces
it, a retry that finds it written announces nothing. The relay delivers them afterwards."""

from __future__ import annotations

import functools
import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.models import BatchWrite
from pynamodb.transactions import TransactWrite

from match.adapters.models import (
    CALENDARS,
    ApplicantItem,
    ApplicantResultItem,
    BlobItem,
    CalendarItem,
    DocumentItem,
    MpiiApplicationItem,
    PointerItem,
    ProgramItem,
    ReleaseItem,
    RolItem,
    RoundItem,
    RunItem,
    StepItem,
    TrackItem,
    TrackResultItem,
    WaitItem,
)
from match.domain.errors import TransientStoreError
from match.domain.mpii import MpiiParticipants
from match.domain.notices import Notice, ProgramContact
from match.domain.release import ApplicantOutcome, ReleaseState, TrackOutcome
from match.domain.rol import REGISTERED, ApplicantInfo, RankOrderList, TrackInfo
from match.domain.runs import PLAN, RoundState, RunRecord, StepRecord
from match.domain.season import ROUNDS, Calendar
from shared.adapters.dynamo import BATCH_GET_KEYS, batch_get
from shared.adapters.outbox import MAX_TRANSACTION_ITEMS, Transaction
from shared.clock import iso, parse_instant
from shared.contracts import Contract
from shared.email import Email
from shared.errors import Conflict, DomainError, RuleViolation
from shared.settings import Settings

CHUNK = 300_000  # characters per blob item (DynamoDB items hold at most 400 KB)
SERVICE = "match"


def _season(season: str) -> str:
    return f"season#{season}"


def outbox_stream(season: str) -> str:
    """The outbox stream of a season's run: its events are relayed in the order they committed."""
    return _season(season)


@dataclass(frozen=True)
class ListReads:
    """What one rank order list request read (MatchStore.list_reads); None: not asked for, or absent."""

    calendar: Calendar | None = None
    round: RoundState | None = None
    mpii: MpiiParticipants | None = None
    account_applicant_id: str | None = None  # the applicant id the account's pointer names
    applicant: ApplicantInfo | None = None
    track: TrackInfo | None = None
    rol: RankOrderList | None = None
    tracks: dict[str, TrackInfo] | None = None  # of the track_codes asked for, those found


NAMED_TRACKS = 90  # tracks read by key with a list's other items (one BatchGetItem holds 100 keys)
NAMED_APPLICANTS = 150  # applicants read by key (2 keys each: 3 + 2 BatchGetItems at most), else queried


class _WrittenAlready(DomainError):
    """A first-write-wins condition found the state written by an earlier attempt (whose
    transaction announced what there was to announce)."""

    def __init__(self, detail: str = "written already"):
        super().__init__(detail)


def _conditional_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def transient(fn):
    """A failing AWS call (throttling, timeout, 5xx) becomes TransientStoreError; domain
    errors pass unchanged."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DomainError:
            raise
        except (PynamoDBException, BotoCoreError, ClientError) as exc:
            raise TransientStoreError(f"the match store failed ({type(exc).__name__}: {exc}); retry") from exc

    return wrapper


def _save_if_newer(item) -> None:
    """Saves a projected item that carries its producer's `version`: only over an older version
    (SQS redelivers and does not order); an unversioned item (an older producer) always wins."""
    cls = type(item)
    if item.version is None:
        item.save()
        return
    try:
        item.save(condition=cls.version.does_not_exist() | (cls.version < item.version))
    except PutError as exc:
        if not _conditional_failure(exc):
            raise


# ----------------------------------------------------------------------------- interface
class MatchStore(ABC):
    # projection -----------------------------------------------------------------------
    @abstractmethod
    def put_calendar(self, season: str, instants: dict[str, datetime], now: datetime,
                     version: int | None = None) -> None:
        """With a version (registration's calendar version): written only when newer than the one
        held; without one (an older producer): written unconditionally."""

    @abstractmethod
    def calendar(self, season: str) -> Calendar: ...

    @abstractmethod
    def upsert_applicant(self, info: ApplicantInfo, version: int | None = None) -> None:
        """Registration facts (and its time zone, while none is held); keeps a status already set
        (a withdrawal may arrive first). With a version (registration's status_version), the status
        is set only when newer than the one held."""

    @abstractmethod
    def set_applicant_status(self, season: str, applicant_id: str, code_number: str | None, status: str,
                             version: int | None = None) -> None:
        """With a version: written only when newer than the one held (a stale, redelivered event
        is ignored); without one (an older producer): written unconditionally."""

    @abstractmethod
    def set_match_withdrawn(self, season: str, applicant_id: str, code_number: str | None, version: int) -> bool:
        """S5 / M3: the applicant is withdrawn from the Match (its registration stays); kept apart
        from the status, so a later withdrawal or reinstatement leaves it. Written only when its
        version is newer than the one held: a redelivery changes nothing (False)."""

    @abstractmethod
    def applicant(self, season: str, applicant_id: str) -> ApplicantInfo | None: ...

    @abstractmethod
    def applicant_by_code(self, season: str, code_number: str) -> ApplicantInfo | None: ...

    @abstractmethod
    def applicant_for_account(self, season: str, sub: str) -> ApplicantInfo | None: ...

    @abstractmethod
    def applicant_for_email(self, season: str, email: str) -> ApplicantInfo | None: ...

    @abstractmethod
    def link_account(self, season: str, sub: str, applicant_id: str) -> None:
        """Remembers which account an applicant signed in with (found once by email)."""

    @abstractmethod
    def applicants(self, season: str) -> list[ApplicantInfo]: ...

    @abstractmethod
    def upsert_track(self, info: TrackInfo, version: int | None = None) -> None:
        """With a version (registration's program version): written only when newer than the one held."""

    @abstractmethod
    def tracks(self, season: str) -> dict[str, TrackInfo]: ...

    @abstractmethod
    def track(self, season: str, track_code: str) -> TrackInfo | None:
        """One track (one read, where `tracks` reads the whole season)."""

    @abstractmethod
    def calendars(self) -> dict[str, Calendar]:
        """Every season's calendar copy (the reminders look at each)."""

    @abstractmethod
    def set_applicant_timezone(self, season: str, applicant_id: str, timezone: str,
                               version: int | None = None) -> None:
        """The applicant's time zone: from its registration only while none is held (a redelivered
        registration never undoes a profile change); from a profile change with a `version` only
        when newer than the one held."""

    @abstractmethod
    def upsert_program_contact(self, contact: ProgramContact, version: int | None = None) -> None:
        """With a version (registration's program version): written only when newer than the one held."""

    @abstractmethod
    def program_contacts(self, season: str) -> dict[str, ProgramContact]: ...

    # emails to participants (issue 12) ----------------------------------------------------
    @abstractmethod
    def noticed(self, season: str, marker: str) -> bool:
        """Whether the notice `marker` was committed."""

    @abstractmethod
    def notify_once(self, season: str, notices: Iterable[Notice], now: datetime) -> int:
        """Each notice's emails commit in one transaction with its marker item (first write wins):
        a notice committed before (a retry, a redelivery, a re-run) is skipped. Several notices
        share a transaction while DynamoDB's limit allows. Returns how many were committed now."""

    # rank order lists --------------------------------------------------------------------
    @abstractmethod
    def list_reads(self, season: str, rnd: str, *, account: str | None = None, applicant_id: str | None = None,
                   track_code: str | None = None, rol: tuple[str, str] | None = None,
                   window: bool = True, track_codes: Iterable[str] = ()) -> ListReads:
        """What a rank order list request reads, in one strongly consistent read (not one per item):
        with `window`, the season's calendar, the round's state and (MPII round) the participants;
        and whichever are named: the applicant linked to the `account` sub (its pointer), an
        applicant, a track, the list (`rol`: kind, owner), tracks (`track_codes`, at most
        NAMED_TRACKS: ListReads.tracks holds those found)."""

    @abstractmethod
    def applicants_named(self, season: str, entries: Iterable[str]) -> list[ApplicantInfo]:
        """The season's applicants whose id or code number is among `entries` (batch reads by key
        while they are few: a Query of every applicant of a big season costs far more; else every
        applicant)."""

    @abstractmethod
    def tracks_named(self, season: str, codes: Iterable[str]) -> dict[str, TrackInfo]:
        """The season's tracks among `codes` (one batch read while they are few; else every track)."""

    @abstractmethod
    def rol(self, season: str, rnd: str, kind: str, owner: str) -> RankOrderList: ...

    @abstractmethod
    def rols(self, season: str, rnd: str) -> list[RankOrderList]: ...

    @abstractmethod
    def save_rol(self, season: str, rnd: str, kind: str, owner: str, entries: tuple[str, ...],
                 now: datetime, by: str, version: int) -> RankOrderList:
        """Replaces the list and uncertifies it (M1), as version + 1 of the `version` read (0: no
        list yet); refused once the round is locked, and with a 409 when the list changed since
        it was read (two concurrent edits: one wins, the other is refused, no lost update).
        Returns the list as written (not read again)."""

    @abstractmethod
    def certify_rol(self, season: str, rnd: str, kind: str, owner: str, version: int, now: datetime,
                    by: str, current: RankOrderList | None = None) -> RankOrderList:
        """Certifies exactly `version`; refused once the round is locked or the list changed.
        Returns the certified list: `current` (the list read at `version`) certified, else read again."""

    # rounds ---------------------------------------------------------------------------
    @abstractmethod
    def round_state(self, season: str, rnd: str) -> RoundState: ...

    @abstractmethod
    def lock_round(self, season: str, rnd: str, now: datetime, run_id: str) -> RoundState: ...

    @abstractmethod
    def save_snapshot(self, season: str, rnd: str, text: str, sha: str, now: datetime, *,
                      emails: Iterable[Email] = ()) -> str:
        """First snapshot wins (the round's seal), with its `emails` in the same transaction; a
        retry finding it taken writes and sends nothing. Returns the sha of the stored one."""

    @abstractmethod
    def notify_seal(self, season: str, rnd: str, batch: int, emails: Iterable[Email], now: datetime) -> bool:
        """Issue 12: one batch of the seal's emails to the round's participants, with a marker item
        in the same transaction (first write wins): False when the batch was sent already."""

    @abstractmethod
    def load_snapshot(self, season: str, rnd: str) -> tuple[str, str] | None:
        """(canonical JSON text, sha256) of the round's snapshot."""

    @abstractmethod
    def save_candidate(self, season: str, rnd: str, sha: str, text: str) -> None: ...

    @abstractmethod
    def load_candidate(self, season: str, rnd: str, sha: str) -> str | None: ...

    @abstractmethod
    def load_result(self, season: str, rnd: str) -> str | None:
        """The stored result file's text (None before the result is stored)."""

    @abstractmethod
    def mark_verified(self, season: str, rnd: str, now: datetime) -> None: ...

    @abstractmethod
    def store_results(self, season: str, rnd: str, run_id: str, matches: dict[str, str | None],
                      tracks: dict[str, TrackOutcome], statistics: dict, now: datetime, *,
                      events: Iterable[Contract] = (), result_sha256: str | None = None) -> RoundState:
        """First write wins: the round's result is stored once, with its `events` and the SHA-256
        of its file (the audit) in the same transaction; a retry finding it stored writes and
        announces nothing."""

    # results ------------------------------------------------------------------------------
    @abstractmethod
    def applicant_outcome(self, season: str, rnd: str, code_number: str) -> ApplicantOutcome | None: ...

    @abstractmethod
    def applicant_outcomes(self, season: str, rnd: str) -> list[ApplicantOutcome]: ...

    @abstractmethod
    def track_outcomes(self, season: str, rnd: str) -> dict[str, TrackOutcome]: ...

    @abstractmethod
    def release_state(self, season: str) -> ReleaseState: ...

    @abstractmethod
    def mark_released(self, season: str, what: str, now: datetime, *,
                      events: Iterable[Contract] = ()) -> ReleaseState:
        """what: 'status' or 'results'; the first instant recorded stays, and only its
        transaction announces `events`."""

    @abstractmethod
    def save_mpii(self, season: str, participants: MpiiParticipants, now: datetime, *,
                  events: Iterable[Contract] = ()) -> MpiiParticipants:
        """First write wins (with its `events`); returns the stored participants."""

    @abstractmethod
    def mpii(self, season: str) -> MpiiParticipants | None: ...

    @abstractmethod
    def add_mpii_application(self, season: str, applicant_id: str, program_code: str,
                             delivered_at: datetime) -> None:
        """M7: an MPII delivery (idempotent: a redelivered event writes the same item)."""

    @abstractmethod
    def mpii_applications(self, season: str, applicant_id: str | None = None) -> dict[str, frozenset[str]]:
        """M7: applicant id -> the programs its MPII applications were delivered to (every
        applicant's, or only `applicant_id`'s)."""

    @abstractmethod
    def save_post_match(self, season: str, entries: list[dict], now: datetime) -> tuple[list[dict], datetime]: ...

    @abstractmethod
    def post_match(self, season: str) -> tuple[list[dict], datetime] | None: ...

    # runs --------------------------------------------------------------------------------
    @abstractmethod
    def create_run(self, record: RunRecord) -> bool:
        """False when the run exists already."""

    @abstractmethod
    def set_execution(self, season: str, run_id: str, execution_arn: str) -> None: ...

    @abstractmethod
    def runs(self, season: str) -> list[RunRecord]: ...

    @abstractmethod
    def run(self, season: str, run_id: str) -> RunRecord | None: ...

    @abstractmethod
    def mark_run_failed(self, season: str, run_id: str, error: str, cause: str, now: datetime, *,
                        emails: Iterable[Email] = ()) -> bool:
        """First write wins: the run's first failure is recorded with its `emails` in one
        transaction; False (nothing written or announced) when it was recorded already."""

    @abstractmethod
    def step_started(self, season: str, run_id: str, step: str, now: datetime) -> None: ...

    @abstractmethod
    def step_finished(self, season: str, run_id: str, step: str, status: str, detail: str | None,
                      now: datetime) -> None: ...

    @abstractmethod
    def steps(self, season: str, run_id: str) -> list[StepRecord]: ...

    @abstractmethod
    def put_wait(self, season: str, key: str, run_id: str, token: str, now: datetime) -> None: ...

    @abstractmethod
    def open_waits(self, season: str, key: str) -> list[tuple[str, str]]:
        """(run_id, task_token) of the runs waiting for this calendar instant."""

    @abstractmethod
    def close_wait(self, season: str, key: str, run_id: str, token: str, now: datetime) -> None: ...


# ----------------------------------------------------------------------------- DynamoDB
def _applicant(season: str, i: ApplicantItem) -> ApplicantInfo:
    return ApplicantInfo(season=season, applicant_id=i.applicant_id, code_number=i.code_number or "",
                         status=i.status or REGISTERED, email=i.email or "", first_name=i.first_name or "",
                         last_name=i.last_name or "", owner_sub=i.owner_sub,
                         match_withdrawn=bool(i.match_withdrawn), timezone=i.timezone)


def _track(season: str, i: TrackItem) -> TrackInfo:
    return TrackInfo(season=season, track_code=i.track_code, program_code=i.program_code,
                     program_name=i.program_name or "", name=i.name or "", positions=int(i.positions),
                     withdrawn=bool(i.withdrawn))


def _rol(season: str, i: RolItem) -> RankOrderList:
    return RankOrderList(season=season, round=i.round, kind=i.kind, owner=i.owner, entries=tuple(i.entries or ()),
                         version=int(i.version or 0), certified=bool(i.certified), updated_at=i.updated_at,
                         certified_at=i.certified_at,
                         certified_version=int(i.certified_version) if i.certified_version is not None else None)


def _round(season: str, rnd: str, i: RoundItem | None) -> RoundState:
    if i is None:
        return RoundState(season, rnd)
    return RoundState(season, rnd, locked_at=i.locked_at, snapshot_sha256=i.snapshot_sha256,
                      snapshot_taken_at=i.snapshot_taken_at, verified_at=i.verified_at, stored_at=i.stored_at,
                      stored_by_run=i.stored_by_run, statistics=json.loads(i.statistics or "{}"),
                      result_sha256=i.result_sha256)


def _run(season: str, i: RunItem) -> RunRecord:
    return RunRecord(season=season, run_id=i.run_id, attempt=int(i.attempt), started_at=i.started_at,
                     started_by=i.started_by, execution_arn=i.execution_arn, failed_error=i.failed_error,
                     failed_cause=i.failed_cause, failed_at=i.failed_at)


def _get(model, pk: str, sk: str):
    try:
        return model.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None


def _batch_get(connection: Connection, wanted: dict[tuple[str, str], type]) -> dict[tuple[str, str], object]:
    """Strongly consistent BatchGetItem of items of the match table, each (pk, sk) read as its model:
    one call for up to 100 keys instead of one GetItem each. Absent items are absent from the result.
    Not TransactGetItems: that one is cancelled by any transaction writing one of the items."""
    return batch_get(connection.dispatch, CalendarItem.Meta.table_name, wanted, TransientStoreError)


def _mpii(item: DocumentItem) -> MpiiParticipants:
    doc = json.loads(item.document)
    return MpiiParticipants(tuple(doc["applicants"]), {k: int(v) for k, v in doc["tracks"].items()})


class DynamoMatchStore(MatchStore):
    def __init__(self, settings: Settings | None = None):
        self._region = (settings or Settings.from_env()).region
        self._connection: Connection | None = None

    def _conn(self) -> Connection:
        if self._connection is None:  # one client for every transaction (creating one costs ~0.1 s)
            self._connection = Connection(region=self._region)
        return self._connection

    def _tx(self) -> TransactWrite:
        return TransactWrite(connection=self._conn())

    def _announcing(self, now: datetime) -> Transaction:
        return Transaction(SERVICE, now, connection=self._conn())

    @staticmethod
    def _first_write(t: Transaction) -> bool:
        """Commits a transaction whose write is first-write-wins (refusal `_WrittenAlready`):
        False when an earlier attempt wrote it (and announced what it announced)."""
        try:
            t.commit()
        except _WrittenAlready:
            return False
        except Conflict as exc:  # another transaction on the same item at this instant: retry the step
            raise TransientStoreError(f"the match store is busy ({exc.detail}); retry") from exc
        return True

    # projection -----------------------------------------------------------------------
    @transient
    def put_calendar(self, season, instants, now, version=None):
        _save_if_newer(CalendarItem(pk=_season(season), sk="calendar", updated_at=now, version=version,
                                    instants=json.dumps({k: iso(v) for k, v in instants.items()}, sort_keys=True),
                                    gsi1pk=CALENDARS, gsi1sk=season))

    @staticmethod
    def _calendar(season: str, item: CalendarItem) -> Calendar:
        return Calendar(season, {k: parse_instant(v) for k, v in json.loads(item.instants).items()})

    @transient
    def calendar(self, season):
        item = _get(CalendarItem, _season(season), "calendar")
        if item is None:
            return Calendar(season)
        return self._calendar(season, item)

    @transient
    def calendars(self):
        return {i.gsi1sk: self._calendar(i.gsi1sk, i) for i in CalendarItem.gsi1.query(CALENDARS)}

    @transient
    def upsert_applicant(self, info, version=None):
        item = ApplicantItem(pk=_season(info.season), sk=f"applicant#{info.applicant_id}")
        facts = [
            ApplicantItem.applicant_id.set(info.applicant_id),
            ApplicantItem.code_number.set(info.code_number),
            ApplicantItem.email.set(info.email),
            ApplicantItem.first_name.set(info.first_name),
            ApplicantItem.last_name.set(info.last_name),
            *([ApplicantItem.owner_sub.set(info.owner_sub)] if info.owner_sub else []),
            # the registration's time zone only while none is held (a profile change's stays)
            *([ApplicantItem.timezone.set(ApplicantItem.timezone | info.timezone)] if info.timezone else []),
        ]
        keep_status = ApplicantItem.status.set(ApplicantItem.status | info.status)  # keeps a withdrawal seen first
        if version is None:
            item.update(actions=[*facts, keep_status])
        # the facts with the status of this version in one write, unless a newer status is held (or an
        # unversioned status other than this one: an older producer's withdrawal stays); then the facts alone
        elif not self._set_if_newer(item, [*facts, ApplicantItem.status.set(info.status)], version,
                                    ApplicantItem.version.does_not_exist() & (
                                        ApplicantItem.status.does_not_exist() | (ApplicantItem.status == info.status))):
            item.update(actions=[*facts, keep_status])
        pk = _season(info.season)
        with PointerItem.batch_write() as pointers:  # one BatchWriteItem, not a PutItem each
            pointers.save(PointerItem(pk=pk, sk=f"code#{info.code_number}", applicant_id=info.applicant_id))
            if info.email:
                pointers.save(PointerItem(pk=pk, sk=f"email#{info.email.strip().lower()}",
                                          applicant_id=info.applicant_id))
            if info.owner_sub:
                pointers.save(PointerItem(pk=f"account#{info.owner_sub}", sk=pk, applicant_id=info.applicant_id))

    @staticmethod
    def _set_if_newer(item: ApplicantItem, actions: list, version: int, otherwise=None) -> bool:
        """M3: SQS redelivers and does not order: a status is written only with a newer version."""
        condition = ApplicantItem.version.does_not_exist() if otherwise is None else otherwise
        try:
            item.update(actions=[*actions, ApplicantItem.version.set(version)],
                        condition=condition | (ApplicantItem.version < version))
        except UpdateError as exc:
            if not _conditional_failure(exc):
                raise
            return False  # stale: a newer status is held already
        return True

    @transient
    def set_applicant_status(self, season, applicant_id, code_number, status, version=None):
        item = ApplicantItem(pk=_season(season), sk=f"applicant#{applicant_id}")
        actions = [ApplicantItem.applicant_id.set(applicant_id), ApplicantItem.status.set(status)]
        if code_number:
            actions.append(ApplicantItem.code_number.set(code_number))
        if version is None:  # an older producer: the last event handled wins, as before
            item.update(actions=actions)
        else:
            self._set_if_newer(item, actions, version)

    @transient
    def set_match_withdrawn(self, season, applicant_id, code_number, version):
        item = ApplicantItem(pk=_season(season), sk=f"applicant#{applicant_id}")
        actions = [ApplicantItem.applicant_id.set(applicant_id), ApplicantItem.match_withdrawn.set(True),
                   ApplicantItem.match_withdrawn_version.set(version)]
        if code_number:
            actions.append(ApplicantItem.code_number.set(code_number))
        try:
            item.update(actions=actions, condition=ApplicantItem.match_withdrawn_version.does_not_exist()
                        | (ApplicantItem.match_withdrawn_version < version))
        except UpdateError as exc:
            if not _conditional_failure(exc):
                raise
            return False  # applied before (a redelivery)
        return True

    @transient
    def applicant(self, season, applicant_id):
        item = _get(ApplicantItem, _season(season), f"applicant#{applicant_id}")
        return _applicant(season, item) if item is not None and item.code_number else None

    @transient
    def applicant_by_code(self, season, code_number):
        pointer = _get(PointerItem, _season(season), f"code#{code_number}")
        return self.applicant(season, pointer.applicant_id) if pointer else None

    @transient
    def applicant_for_account(self, season, sub):
        pointer = _get(PointerItem, f"account#{sub}", _season(season))
        return self.applicant(season, pointer.applicant_id) if pointer else None

    @transient
    def applicant_for_email(self, season, email):
        pointer = _get(PointerItem, _season(season), f"email#{email.strip().lower()}")
        return self.applicant(season, pointer.applicant_id) if pointer else None

    @transient
    def link_account(self, season, sub, applicant_id):
        PointerItem(pk=f"account#{sub}", sk=_season(season), applicant_id=applicant_id).save()

    @transient
    def applicants(self, season):
        items = ApplicantItem.query(_season(season), ApplicantItem.sk.startswith("applicant#"), consistent_read=True)
        return [_applicant(season, i) for i in items if i.code_number]

    @transient
    def upsert_track(self, info, version=None):
        item = TrackItem(pk=_season(info.season), sk=f"track#{info.track_code}", track_code=info.track_code,
                         program_code=info.program_code, program_name=info.program_name, name=info.name,
                         positions=info.positions, withdrawn=info.withdrawn or None, version=version)
        _save_if_newer(item)  # M2: a redelivered ProgramRegistered never lowers positions a later change set

    @transient
    def tracks(self, season):
        items = TrackItem.query(_season(season), TrackItem.sk.startswith("track#"), consistent_read=True)
        return {i.track_code: _track(season, i) for i in items}

    @transient
    def track(self, season, track_code):
        item = _get(TrackItem, _season(season), f"track#{track_code}")
        return _track(season, item) if item is not None else None

    @transient
    def set_applicant_timezone(self, season, applicant_id, timezone, version=None):
        item = ApplicantItem(pk=_season(season), sk=f"applicant#{applicant_id}")
        actions = [ApplicantItem.applicant_id.set(applicant_id), ApplicantItem.timezone.set(timezone)]
        if version is None:  # a registration: only while no time zone is held
            condition = ApplicantItem.timezone.does_not_exist()
        else:
            actions.append(ApplicantItem.timezone_version.set(version))
            condition = ApplicantItem.timezone_version.does_not_exist() | (ApplicantItem.timezone_version < version)
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if not _conditional_failure(exc):
                raise

    @transient
    def upsert_program_contact(self, contact, version=None):
        _save_if_newer(ProgramItem(pk=_season(contact.season), sk=f"program#{contact.program_code}",
                                   program_code=contact.program_code, name=contact.name or None,
                                   contact_email=(contact.contact_email or "").strip().lower() or None,
                                   version=version))

    @transient
    def program_contacts(self, season):
        items = ProgramItem.query(_season(season), ProgramItem.sk.startswith("program#"), consistent_read=True)
        return {i.program_code: ProgramContact(season, i.program_code, i.name or "", i.contact_email)
                for i in items}

    # emails to participants (issue 12) ----------------------------------------------------
    @transient
    def noticed(self, season, marker):
        return _get(DocumentItem, _season(season), f"notice#{marker}") is not None

    def _commit_notices(self, season: str, notices: list[Notice], now: datetime) -> bool:
        t = self._announcing(now)
        for n in notices:
            t.put(DocumentItem(pk=_season(season), sk=f"notice#{n.marker}",
                               document=json.dumps({"emails": len(n.emails)}), created_at=now),
                  condition=DocumentItem.pk.does_not_exist(), refusal=_WrittenAlready)
            t.announce(outbox_stream(season), emails=n.emails)
        return self._first_write(t)

    @transient
    def notify_once(self, season, notices, now):
        chunks: list[list[Notice]] = [[]]
        size = 0
        for n in notices:
            items = 1 + len(n.emails)
            if chunks[-1] and size + items > MAX_TRANSACTION_ITEMS:
                chunks.append([])
                size = 0
            chunks[-1].append(n)
            size += items
        sent = 0
        for chunk in chunks:
            if not chunk:
                continue
            if self._commit_notices(season, chunk, now):
                sent += len(chunk)
            elif len(chunk) > 1:  # some were sent before (a retry): each of the others on its own
                sent += sum(self._commit_notices(season, [n], now) for n in chunk)
        return sent

    # rank order lists --------------------------------------------------------------------
    @staticmethod
    def _rol_key(rnd: str, kind: str, owner: str) -> str:
        return f"rol#{rnd}#{kind}#{owner}"

    @transient
    def list_reads(self, season, rnd, *, account=None, applicant_id=None, track_code=None, rol=None, window=True,
                   track_codes=()):
        pk = _season(season)
        codes = sorted(set(track_codes))
        if len(codes) > NAMED_TRACKS:
            raise ValueError(f"list_reads reads at most {NAMED_TRACKS} tracks by key; use tracks()")
        wanted: dict[tuple[str, str], type] = {(pk, f"track#{code}"): TrackItem for code in codes}
        if window:
            wanted[(pk, "calendar")] = CalendarItem
            wanted[(pk, f"round#{rnd}")] = RoundItem
            if rnd == "mpii":
                wanted[(pk, "mpii")] = DocumentItem
        if account:
            wanted[(f"account#{account}", pk)] = PointerItem
        if applicant_id:
            wanted[(pk, f"applicant#{applicant_id}")] = ApplicantItem
        if track_code:
            wanted[(pk, f"track#{track_code}")] = TrackItem
        if rol:
            wanted[(pk, self._rol_key(rnd, *rol))] = RolItem
        got = _batch_get(self._conn(), wanted)
        cal, state = got.get((pk, "calendar")), got.get((pk, f"round#{rnd}"))
        participants = got.get((pk, "mpii"))
        pointer = got.get((f"account#{account}", pk)) if account else None
        a = got.get((pk, f"applicant#{applicant_id}")) if applicant_id else None
        t = got.get((pk, f"track#{track_code}")) if track_code else None
        r = got.get((pk, self._rol_key(rnd, *rol))) if rol else None
        return ListReads(
            calendar=(self._calendar(season, cal) if cal is not None else Calendar(season)) if window else None,
            round=_round(season, rnd, state) if window else None,
            mpii=_mpii(participants) if participants is not None else None,
            account_applicant_id=pointer.applicant_id if pointer is not None else None,
            applicant=_applicant(season, a) if a is not None and a.code_number else None,
            track=_track(season, t) if t is not None else None,
            rol=(_rol(season, r) if r is not None else RankOrderList(season=season, round=rnd, kind=rol[0],
                                                                     owner=rol[1])) if rol else None,
            tracks={code: _track(season, i) for code in codes if (i := got.get((pk, f"track#{code}"))) is not None}
            if track_codes else None)

    @transient
    def applicants_named(self, season, entries):
        entries = sorted(set(entries))
        if len(entries) > NAMED_APPLICANTS:
            return self.applicants(season)
        pk = _season(season)
        wanted: dict[tuple[str, str], type] = {}
        for e in entries:  # an entry is an applicant id or a code number (its pointer names the id)
            wanted[(pk, f"applicant#{e}")] = ApplicantItem
            wanted[(pk, f"code#{e}")] = PointerItem
        got = _batch_get(self._conn(), wanted) if wanted else {}
        items = {k: v for k, v in got.items() if isinstance(v, ApplicantItem)}
        pointed = {(pk, f"applicant#{v.applicant_id}"): ApplicantItem for v in got.values()
                   if isinstance(v, PointerItem)}
        missing = {k: m for k, m in pointed.items() if k not in items}
        if missing:
            items.update(_batch_get(self._conn(), missing))
        return [_applicant(season, i) for i in items.values() if i.code_number]

    @transient
    def tracks_named(self, season, codes):
        codes = sorted(set(codes))
        if len(codes) > BATCH_GET_KEYS:
            return self.tracks(season)
        pk = _season(season)
        got = _batch_get(self._conn(), {(pk, f"track#{code}"): TrackItem for code in codes}) if codes else {}
        return {i.track_code: _track(season, i) for i in got.values()}

    @transient
    def rol(self, season, rnd, kind, owner):
        item = _get(RolItem, _season(season), self._rol_key(rnd, kind, owner))
        if item is None:
            return RankOrderList(season=season, round=rnd, kind=kind, owner=owner)
        return _rol(season, item)

    @transient
    def rols(self, season, rnd):
        items = RolItem.query(_season(season), RolItem.sk.startswith(f"rol#{rnd}#"), consistent_read=True)
        return [_rol(season, i) for i in items]

    def _locked_error(self, season: str, rnd: str) -> DomainError:
        r = ROUNDS[rnd]
        return RuleViolation(f"{r.label} rank order lists of season {season} are locked: the run has started",
                             rule=r.rule)

    @transient
    def save_rol(self, season, rnd, kind, owner, entries, now, by, version):
        pk, sk = _season(season), self._rol_key(rnd, kind, owner)
        item = RolItem(pk=pk, sk=sk)
        unchanged = (RolItem.version == version) if version else (RolItem.pk.does_not_exist() | (RolItem.version == 0))
        try:
            with self._tx() as tx:
                tx.condition_check(RoundItem, pk, f"round#{rnd}", condition=RoundItem.locked_at.does_not_exist())
                tx.update(item, actions=[
                    RolItem.round.set(rnd), RolItem.kind.set(kind), RolItem.owner.set(owner),
                    RolItem.entries.set(list(entries)), RolItem.certified.set(False),  # M1: any edit uncertifies
                    RolItem.version.set(version + 1), RolItem.updated_at.set(now), RolItem.updated_by.set(by),
                    RolItem.certified_at.remove(), RolItem.certified_version.remove(), RolItem.certified_by.remove(),
                ], condition=unchanged)
        except TransactWriteError as exc:
            if self.round_state(season, rnd).locked:
                raise self._locked_error(season, rnd) from exc
            current = self.rol(season, rnd, kind, owner)
            if current.version != version:
                raise Conflict(f"the list changed since it was read (version {version}, now {current.version}); "
                               "reload it and save again", rule="M1", extra={"version": current.version}) from exc
            raise
        # the transaction wrote exactly this over `version` (no need to read it back)
        return RankOrderList(season=season, round=rnd, kind=kind, owner=owner, entries=tuple(entries),
                             version=version + 1, certified=False, updated_at=now)

    @transient
    def certify_rol(self, season, rnd, kind, owner, version, now, by, current=None):
        pk, sk = _season(season), self._rol_key(rnd, kind, owner)
        try:
            with self._tx() as tx:
                tx.condition_check(RoundItem, pk, f"round#{rnd}", condition=RoundItem.locked_at.does_not_exist())
                tx.update(RolItem(pk=pk, sk=sk), actions=[
                    RolItem.certified.set(True), RolItem.certified_at.set(now),
                    RolItem.certified_version.set(version), RolItem.certified_by.set(by),
                ], condition=RolItem.version == version)
        except TransactWriteError as exc:
            if self.round_state(season, rnd).locked:
                raise self._locked_error(season, rnd) from exc
            held = self.rol(season, rnd, kind, owner)
            if held.version != version:
                raise Conflict(f"the list changed while it was being certified (now version {held.version}); "
                               "review it and certify again", rule="M1") from exc
            raise
        if current is not None and current.version == version:  # the list read, as the transaction certified it
            return replace(current, certified=True, certified_at=now, certified_version=version)
        return self.rol(season, rnd, kind, owner)

    # rounds ---------------------------------------------------------------------------
    @transient
    def round_state(self, season, rnd):
        return _round(season, rnd, _get(RoundItem, _season(season), f"round#{rnd}"))

    @transient
    def lock_round(self, season, rnd, now, run_id):
        item = RoundItem(pk=_season(season), sk=f"round#{rnd}")
        try:
            item.update(actions=[RoundItem.locked_at.set(now), RoundItem.locked_by_run.set(run_id)],
                        condition=RoundItem.locked_at.does_not_exist())
        except UpdateError as exc:
            if not _conditional_failure(exc):
                raise
        return self.round_state(season, rnd)

    def _put_chunks(self, season: str, prefix: str, text: str) -> int:
        chunks = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
        with BatchWrite(BlobItem) as batch:  # same key, same bytes: a retry rewrites identical items
            for n, part in enumerate(chunks):
                batch.save(BlobItem(pk=_season(season), sk=f"{prefix}#{n:05d}", data=part))
        return len(chunks)

    def _get_chunks(self, season: str, prefix: str, count: int) -> str | None:
        items = list(BlobItem.query(_season(season), BlobItem.sk.startswith(f"{prefix}#"), consistent_read=True))
        if len(items) != count:
            return None
        return "".join(i.data for i in sorted(items, key=lambda i: i.sk))

    @transient
    def save_snapshot(self, season, rnd, text, sha, now, *, emails=()):
        count = self._put_chunks(season, f"blob#{rnd}#snapshot#{sha}", text)
        # M4: the first snapshot taken after the lock is the round's snapshot, for good; its seal
        # and the emails announcing it commit together (issue 12)
        t = self._announcing(now).update(
            RoundItem(pk=_season(season), sk=f"round#{rnd}"),
            actions=[RoundItem.snapshot_sha256.set(sha), RoundItem.snapshot_chunks.set(count),
                     RoundItem.snapshot_taken_at.set(now)],
            condition=RoundItem.snapshot_sha256.does_not_exist(), refusal=_WrittenAlready)
        t.announce(outbox_stream(season), emails=emails)
        self._first_write(t)
        return self.round_state(season, rnd).snapshot_sha256

    @transient
    def notify_seal(self, season, rnd, batch, emails, now):
        emails = list(emails)
        t = self._announcing(now).put(
            DocumentItem(pk=_season(season), sk=f"seal-notice#{rnd}#{batch:05d}",
                         document=json.dumps({"emails": len(emails)}), created_at=now),
            condition=DocumentItem.pk.does_not_exist(), refusal=_WrittenAlready)
        t.announce(outbox_stream(season), emails=emails)
        return self._first_write(t)

    @transient
    def load_snapshot(self, season, rnd):
        item = _get(RoundItem, _season(season), f"round#{rnd}")
        if item is None or not item.snapshot_sha256:
            return None
        text = self._get_chunks(season, f"blob#{rnd}#snapshot#{item.snapshot_sha256}", int(item.snapshot_chunks))
        return (text, item.snapshot_sha256) if text is not None else None

    @transient
    def save_candidate(self, season, rnd, sha, text):
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]  # chunks of another result never mix in
        count = self._put_chunks(season, f"blob#{rnd}#result#{sha}#{digest}", text)
        RoundItem(pk=_season(season), sk=f"round#{rnd}").update(
            actions=[RoundItem.result_ref.set(f"{sha}#{digest}:{count}")])

    @transient
    def load_candidate(self, season, rnd, sha):
        item = _get(RoundItem, _season(season), f"round#{rnd}")
        if item is None or not item.result_ref:
            return None
        ref, _, count = item.result_ref.rpartition(":")
        if not ref.startswith(f"{sha}#"):
            return None
        return self._get_chunks(season, f"blob#{rnd}#result#{ref}", int(count))

    @transient
    def load_result(self, season, rnd):
        item = _get(RoundItem, _season(season), f"round#{rnd}")
        if item is None or item.stored_at is None or not item.snapshot_sha256:
            return None
        return self.load_candidate(season, rnd, item.snapshot_sha256)

    @transient
    def mark_verified(self, season, rnd, now):
        RoundItem(pk=_season(season), sk=f"round#{rnd}").update(
            actions=[RoundItem.verified_at.set(RoundItem.verified_at | now)])

    @transient
    def store_results(self, season, rnd, run_id, matches, tracks, statistics, now, *, events=(),
                      result_sha256=None):
        state = self.round_state(season, rnd)
        if state.stored_at is not None:  # stored already (a retried step, or a later attempt resuming)
            return state
        pk = _season(season)
        with BatchWrite(ApplicantResultItem) as batch:  # deterministic: a retry writes the same items
            for code, track in matches.items():
                batch.save(ApplicantResultItem(pk=pk, sk=f"result#{rnd}#applicant#{code}", code_number=code,
                                               track_code=track))
        with BatchWrite(TrackResultItem) as batch:
            for code, t in tracks.items():
                batch.save(TrackResultItem(pk=pk, sk=f"result#{rnd}#track#{code}", track_code=code,
                                           positions=t.positions, unfilled=t.unfilled, matched=list(t.matched)))
        t = self._announcing(now).update(
            RoundItem(pk=pk, sk=f"round#{rnd}"),
            actions=[RoundItem.stored_at.set(now), RoundItem.stored_by_run.set(run_id),
                     RoundItem.statistics.set(json.dumps(statistics, sort_keys=True)),
                     *([RoundItem.result_sha256.set(result_sha256)] if result_sha256 else [])],
            condition=RoundItem.stored_at.does_not_exist(), refusal=_WrittenAlready)
        t.announce(outbox_stream(season), events)
        self._first_write(t)
        return self.round_state(season, rnd)

    # results ------------------------------------------------------------------------------
    @transient
    def applicant_outcome(self, season, rnd, code_number):
        item = _get(ApplicantResultItem, _season(season), f"result#{rnd}#applicant#{code_number}")
        return ApplicantOutcome(rnd, item.code_number, item.track_code) if item else None

    @transient
    def applicant_outcomes(self, season, rnd):
        items = ApplicantResultItem.query(_season(season), ApplicantResultItem.sk.startswith(f"result#{rnd}#applicant#"),
                                          consistent_read=True)
        return [ApplicantOutcome(rnd, i.code_number, i.track_code) for i in items]

    @transient
    def track_outcomes(self, season, rnd):
        items = TrackResultItem.query(_season(season), TrackResultItem.sk.startswith(f"result#{rnd}#track#"),
                                      consistent_read=True)
        return {i.track_code: TrackOutcome(i.track_code, int(i.positions), int(i.unfilled), tuple(i.matched or ()))
                for i in items}

    @transient
    def release_state(self, season):
        item = _get(ReleaseItem, _season(season), "release")
        if item is None:
            return ReleaseState()
        return ReleaseState(item.status_released_at, item.results_released_at)

    @transient
    def mark_released(self, season, what, now, *, events=()):
        attr = {"status": ReleaseItem.status_released_at, "results": ReleaseItem.results_released_at}[what]
        t = self._announcing(now).update(ReleaseItem(pk=_season(season), sk="release"), actions=[attr.set(now)],
                                         condition=attr.does_not_exist(), refusal=_WrittenAlready)
        t.announce(outbox_stream(season), events)
        self._first_write(t)
        return self.release_state(season)

    @transient
    def save_mpii(self, season, participants, now, *, events=()):
        doc = json.dumps({"applicants": list(participants.applicant_codes), "tracks": participants.track_positions},
                         sort_keys=True)
        t = self._announcing(now).put(DocumentItem(pk=_season(season), sk="mpii", document=doc, created_at=now),
                                      condition=DocumentItem.pk.does_not_exist(), refusal=_WrittenAlready)
        t.announce(outbox_stream(season), events)
        self._first_write(t)
        stored = self.mpii(season)
        assert stored is not None
        return stored

    @transient
    def mpii(self, season):
        item = _get(DocumentItem, _season(season), "mpii")
        return _mpii(item) if item is not None else None

    @transient
    def add_mpii_application(self, season, applicant_id, program_code, delivered_at):
        MpiiApplicationItem(pk=_season(season), sk=f"mpii-application#{applicant_id}#{program_code}",
                            applicant_id=applicant_id, program_code=program_code, delivered_at=delivered_at).save()

    @transient
    def mpii_applications(self, season, applicant_id=None):
        prefix = f"mpii-application#{applicant_id}#" if applicant_id else "mpii-application#"
        out: dict[str, set[str]] = {}
        for i in MpiiApplicationItem.query(_season(season), MpiiApplicationItem.sk.startswith(prefix),
                                           consistent_read=True):
            out.setdefault(i.applicant_id, set()).add(i.program_code)
        return {k: frozenset(v) for k, v in out.items()}

    @transient
    def save_post_match(self, season, entries, now):
        try:
            DocumentItem(pk=_season(season), sk="post-match", document=json.dumps(entries), created_at=now).save(
                condition=DocumentItem.pk.does_not_exist())
        except PutError as exc:
            if not _conditional_failure(exc):
                raise
        stored = self.post_match(season)
        assert stored is not None
        return stored

    @transient
    def post_match(self, season):
        item = _get(DocumentItem, _season(season), "post-match")
        return (json.loads(item.document), item.created_at) if item else None

    # runs --------------------------------------------------------------------------------
    @transient
    def create_run(self, record):
        try:
            RunItem(pk=_season(record.season), sk=f"run#{record.run_id}", run_id=record.run_id,
                    attempt=record.attempt, started_at=record.started_at, started_by=record.started_by).save(
                condition=RunItem.pk.does_not_exist())
        except PutError as exc:
            if _conditional_failure(exc):
                return False
            raise
        return True

    @transient
    def set_execution(self, season, run_id, execution_arn):
        RunItem(pk=_season(season), sk=f"run#{run_id}").update(actions=[RunItem.execution_arn.set(execution_arn)])

    @transient
    def runs(self, season):
        items = RunItem.query(_season(season), RunItem.sk.startswith("run#"), consistent_read=True)
        return sorted((_run(season, i) for i in items), key=lambda r: r.attempt)

    @transient
    def run(self, season, run_id):
        item = _get(RunItem, _season(season), f"run#{run_id}")
        return _run(season, item) if item else None

    @transient
    def mark_run_failed(self, season, run_id, error, cause, now, *, emails=()):
        t = self._announcing(now).update(RunItem(pk=_season(season), sk=f"run#{run_id}"), actions=[
            RunItem.failed_error.set(error[:256]), RunItem.failed_cause.set(cause[:4000]),
            RunItem.failed_at.set(now)], condition=RunItem.failed_at.does_not_exist(), refusal=_WrittenAlready)
        t.announce(outbox_stream(season), emails=emails)
        return self._first_write(t)

    @transient
    def step_started(self, season, run_id, step, now):
        StepItem(pk=_season(season), sk=f"runstep#{run_id}#{step}").update(actions=[
            StepItem.run_id.set(run_id), StepItem.step.set(step), StepItem.status.set("running"),
            StepItem.attempts.add(1), StepItem.started_at.set(StepItem.started_at | now),
            StepItem.finished_at.remove()])

    @transient
    def step_finished(self, season, run_id, step, status, detail, now):
        actions = [StepItem.run_id.set(run_id), StepItem.step.set(step), StepItem.status.set(status),
                   StepItem.finished_at.set(now)]
        if detail is not None:
            actions.append(StepItem.detail.set(detail[:4000]))
        StepItem(pk=_season(season), sk=f"runstep#{run_id}#{step}").update(actions=actions)

    @transient
    def steps(self, season, run_id):
        items = StepItem.query(_season(season), StepItem.sk.startswith(f"runstep#{run_id}#"), consistent_read=True)
        out = [StepRecord(run_id=i.run_id, step=i.step, status=i.status, attempts=int(i.attempts or 0),
                          started_at=i.started_at, finished_at=i.finished_at, detail=i.detail) for i in items]
        order = {step: i for i, step in enumerate(PLAN)}  # the clock may stand still during a run
        return sorted(out, key=lambda s: (order.get(s.step, len(order)), s.started_at or datetime.min, s.step))

    @transient
    def put_wait(self, season, key, run_id, token, now):
        WaitItem(pk=_season(season), sk=f"wait#{key}#{run_id}", key=key, run_id=run_id, task_token=token,
                 created_at=now).save()

    @transient
    def open_waits(self, season, key):
        items = WaitItem.query(_season(season), WaitItem.sk.startswith(f"wait#{key}#"), consistent_read=True)
        return [(i.run_id, i.task_token) for i in items if i.completed_at is None]

    @transient
    def close_wait(self, season, key, run_id, token, now):
        item = WaitItem(pk=_season(season), sk=f"wait#{key}#{run_id}")
        try:  # only the token that was completed: a retried wait step may have stored a newer one
            item.update(actions=[WaitItem.completed_at.set(now)], condition=WaitItem.task_token == token)
        except UpdateError as exc:
            if not _conditional_failure(exc):
                raise
