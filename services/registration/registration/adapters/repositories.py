"""Repositories of the registration service: the interfaces (fakes subclass them) and
their DynamoDB implementations. They return domain objects.

Each aggregate (applicant, program, season calendar) has `get` and a versioned `save(change)`:
ONE transaction (shared.adapters.outbox.Transaction) writes the aggregate's new state
conditioned on the version read (it stores version + 1; a stale write is a 409 "changed
meanwhile; reload and retry"), one outbox item per event and email the change announces, and
the items that must commit with it (R5's unique CMS ID and email, R3's unique Code Number,
R2/R4's ledger entries). Every uniqueness is a DynamoDB condition, never read-then-write."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from registration.adapters.models import (
    ApplicantItem,
    LedgerItem,
    OwnerItem,
    ProgramItem,
    SeasonItem,
    TrackMap,
    UniqueItem,
)
from registration.domain.calendar import SeasonCalendar
from registration.domain.ledger import LedgerEntry
from registration.domain.programs import Program, Track
from registration.domain.rules import Applicant
from shared.adapters.outbox import Transaction
from shared.errors import Conflict, FieldError, NotFound
from shared.outbox import Change
from shared.settings import Settings

SERVICE = "registration"
Now = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _conditional_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _at_version(attribute, version: int):
    """The condition of a versioned write: the item is still at the version read."""
    return attribute == version if version else attribute.does_not_exist()


def _changed_meanwhile(what: str, rule: str | None) -> Conflict:
    return Conflict(f"{what} changed meanwhile; reload and retry", rule=rule)


class CodeNumberTaken(Conflict):
    """R3: the Code Number offered is another applicant's: take another one."""


class AlreadyInLedger(Conflict):
    """R2 / R4: this payment's ledger entries are written already (an earlier attempt)."""


# ----------------------------------------------------------------------------- interfaces
class SeasonRepository(ABC):
    @abstractmethod
    def get(self, season: str) -> SeasonCalendar | None: ...

    @abstractmethod
    def save(self, change: Change[SeasonCalendar]) -> SeasonCalendar:
        """Stores the calendar as the season's next version (1 when the season is new) with its
        event; a Conflict when another PUT stored a version meanwhile. Returns the stored calendar."""

    @abstractmethod
    def seasons(self) -> list[str]: ...


class ApplicantRepository(ABC):
    @abstractmethod
    def get(self, applicant_id: str) -> Applicant: ...

    @abstractmethod
    def save(self, change: Change[Applicant], *, rule: str | None = None, claim_code: str | None = None,
             ledger: Sequence[LedgerEntry] = ()) -> Applicant:
        """One transaction: the applicant at version + 1 (a new one, version 0, with R5's unique
        CMS ID and email: a Conflict naming the field when taken), its events and emails,
        `claim_code`'s unique item (CodeNumberTaken when another applicant holds it) and the
        ledger entries (AlreadyInLedger when written before). A stale version: Conflict naming
        `rule`. Returns the applicant as stored."""

    @abstractmethod
    def raise_credits_used(self, applicant_id: str, credits_used: int) -> Applicant | None:
        """A5 / R4 in ONE conditional write: credits_used becomes `credits_used` (and the version
        + 1, so a save from a state read before is a 409) when it is higher than the stored count.
        The applicant as stored then; None when the stored count is that high already (an older
        or redelivered count: nothing written). NotFound when there is no such applicant."""

    @abstractmethod
    def for_owner(self, sub: str) -> list[Applicant]: ...

    @abstractmethod
    def in_season(self, season: str, status: str | None = None) -> list[Applicant]: ...


class Ledger(ABC):
    """Append-only: entries are added, never changed or removed."""

    @abstractmethod
    def append(self, entries: list[LedgerEntry]) -> None: ...

    @abstractmethod
    def entries(self, applicant_id: str) -> list[LedgerEntry]: ...

    @abstractmethod
    def append_announced(self, entry: LedgerEntry, now: datetime, events: Sequence = (),
                         emails: Sequence = ()) -> bool:
        """ONE transaction: the entry, conditioned on its absence, and the outbox items of its
        events and emails. False (nothing written, nothing announced) when the entry exists."""


class ProgramRepository(ABC):
    @abstractmethod
    def get(self, program_code: str, season: str | None = None) -> Program:
        """The program in `season`, or in its latest season when none is given."""

    @abstractmethod
    def save(self, change: Change[Program], *, rule: str | None = "R8") -> Program:
        """One transaction: the program at version + 1 (a new one, version 0: refused, R8, when
        its code is registered in the season already) and its events. A stale version: Conflict."""

    @abstractmethod
    def in_season(self, season: str) -> list[Program]: ...


# ----------------------------------------------------------------------------- DynamoDB
def _entry_item(e: LedgerEntry) -> LedgerItem:
    return LedgerItem(pk=f"ledger#{e.applicant_id}", sk=f"entry#{e.entry_id}", entry_id=e.entry_id,
                      applicant_id=e.applicant_id, season=e.season, kind=e.kind, part=e.part,
                      amount_cents=e.amount_cents, payment_id=e.payment_id, at=e.at, provider_ref=e.provider_ref,
                      quantity=e.quantity, note=e.note, recorded_ns=time.time_ns())


def _entry(i: LedgerItem) -> LedgerEntry:
    return LedgerEntry(entry_id=i.entry_id, applicant_id=i.applicant_id, season=i.season, kind=i.kind,
                       part=i.part, amount_cents=int(i.amount_cents), payment_id=i.payment_id, at=i.at,
                       provider_ref=i.provider_ref, quantity=int(i.quantity) if i.quantity is not None else None,
                       note=i.note)


class DynamoSeasonRepository(SeasonRepository):
    def __init__(self, clock: Now = _utcnow):
        self.clock = clock

    def get(self, season: str) -> SeasonCalendar | None:
        try:
            item = SeasonItem.get(f"season#{season}", "calendar", consistent_read=True)
        except DoesNotExist:
            return None
        from registration.domain.calendar import parse_calendar

        return replace(parse_calendar(season, dict(item.calendar.as_dict())), version=int(item.version or 0))

    def save(self, change: Change[SeasonCalendar]) -> SeasonCalendar:
        c = change.state
        now = self.clock()
        item = SeasonItem(pk=f"season#{c.season}", sk="calendar", season=c.season, calendar=c.iso(), updated_at=now,
                          version=c.version + 1, gsi1pk="seasons", gsi1sk=c.season)
        t = Transaction(SERVICE, now)
        t.put(item, condition=_at_version(SeasonItem.version, c.version),
              refusal=lambda: _changed_meanwhile(f"the calendar of season {c.season}", None))
        t.announce(f"season#{c.season}", change.events, change.emails)
        t.commit()
        return replace(c, version=c.version + 1)

    def seasons(self) -> list[str]:
        return sorted(i.gsi1sk for i in SeasonItem.gsi1.query("seasons"))


def _applicant(i: ApplicantItem) -> Applicant:
    return Applicant(
        applicant_id=i.applicant_id, season=i.season, first_name=i.first_name, last_name=i.last_name,
        email=i.email, cms_id=i.cms_id, college=i.college, graduation_year=int(i.graduation_year),
        status=i.status, owner_sub=i.owner_sub, code_number=i.code_number, credits_total=int(i.credits_total or 0),
        credits_used=int(i.credits_used or 0), timezone=i.timezone,
        address=i.address.as_dict() if i.address is not None else None, phone=i.phone,
        warnings=list(i.warnings or []), created_at=i.created_at, registered_at=i.registered_at,
        payment_id=i.payment_id, payment_key=i.payment_key, payment_intent=i.payment_intent,
        status_before_withdrawal=i.status_before_withdrawal, withdrawal_reason=i.withdrawal_reason,
        withdrawn_at=i.withdrawn_at, s5_withdrawn=bool(i.s5_withdrawn), match_withdrawn=bool(i.match_withdrawn),
        match_withdrawal_reason=i.match_withdrawal_reason, match_withdrawn_at=i.match_withdrawn_at,
        status_version=int(i.status_version or 0), version=int(i.version or 0))


def _applicant_item(a: Applicant) -> ApplicantItem:
    """The applicant's item at the version the save writes (version read + 1)."""
    return ApplicantItem(
        pk=f"applicant#{a.applicant_id}", sk="applicant", applicant_id=a.applicant_id, season=a.season,
        owner_sub=a.owner_sub, first_name=a.first_name, last_name=a.last_name, email=a.email, cms_id=a.cms_id,
        college=a.college, graduation_year=a.graduation_year, status=a.status, code_number=a.code_number,
        credits_total=a.credits_total, credits_used=a.credits_used, timezone=a.timezone, address=a.address,
        phone=a.phone, warnings=a.warnings or None, created_at=a.created_at, registered_at=a.registered_at,
        payment_id=a.payment_id, payment_key=a.payment_key, payment_intent=a.payment_intent,
        status_before_withdrawal=a.status_before_withdrawal, withdrawal_reason=a.withdrawal_reason,
        withdrawn_at=a.withdrawn_at, s5_withdrawn=a.s5_withdrawn or None, match_withdrawn=a.match_withdrawn or None,
        match_withdrawal_reason=a.match_withdrawal_reason, match_withdrawn_at=a.match_withdrawn_at,
        status_version=a.status_version, version=a.version + 1,
        gsi1pk=f"season#{a.season}#applicants", gsi1sk=f"{a.status}#{a.applicant_id}")


def _unique(kind: str, a: Applicant) -> UniqueItem:
    value = {"cms": a.cms_id, "email": a.email.lower()}[kind]
    return UniqueItem(pk=f"season#{a.season}#{kind}#{value}", sk="unique", applicant_id=a.applicant_id,
                      season=a.season)


class DynamoApplicantRepository(ApplicantRepository):
    def __init__(self, settings: Settings | None = None, clock: Now = _utcnow):
        self._settings = settings or Settings.from_env()
        self._connection: Connection | None = None
        self.clock = clock

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = Connection(region=self._settings.region)
        return self._connection

    def get(self, applicant_id: str) -> Applicant:
        try:
            return _applicant(ApplicantItem.get(f"applicant#{applicant_id}", "applicant", consistent_read=True))
        except DoesNotExist as exc:
            raise NotFound(f"no applicant {applicant_id}") from exc

    def raise_credits_used(self, applicant_id: str, credits_used: int) -> Applicant | None:
        item = ApplicantItem(pk=f"applicant#{applicant_id}", sk="applicant")
        try:
            item.update(actions=[ApplicantItem.credits_used.set(credits_used), ApplicantItem.version.add(1)],
                        condition=ApplicantItem.pk.exists() & (ApplicantItem.credits_used.does_not_exist()
                                                               | (ApplicantItem.credits_used < credits_used)))
        except UpdateError as exc:
            if not _conditional_failure(exc):
                raise
            self.get(applicant_id)  # NotFound when absent; else the stored count is that high already
            return None
        return _applicant(item)

    def for_owner(self, sub: str) -> list[Applicant]:
        ids = [o.applicant_id for o in OwnerItem.query(f"owner#{sub}", OwnerItem.sk.startswith("applicant#"))]
        return [self.get(i) for i in ids]

    def in_season(self, season: str, status: str | None = None) -> list[Applicant]:
        condition = ApplicantItem.gsi1sk.startswith(f"{status}#") if status else None
        return [_applicant(i) for i in ApplicantItem.gsi1.query(f"season#{season}#applicants", condition)]

    def save(self, change: Change[Applicant], *, rule: str | None = None, claim_code: str | None = None,
             ledger: Sequence[LedgerEntry] = ()) -> Applicant:
        a = change.state
        new = a.version == 0
        t = Transaction(SERVICE, self.clock(), connection=self.connection)
        if new:
            t.put(_applicant_item(a), condition=ApplicantItem.pk.does_not_exist(),
                  refusal=Conflict(f"applicant {a.applicant_id} exists already", rule=rule))
            for kind in ("cms", "email"):  # R5: one registration per CMS ID and per email in a season
                t.put(_unique(kind, a), condition=UniqueItem.pk.does_not_exist(), refusal=lambda: self._taken(a))
            if a.owner_sub:
                t.put(OwnerItem(pk=f"owner#{a.owner_sub}", sk=f"applicant#{a.applicant_id}",
                                applicant_id=a.applicant_id, season=a.season))
        else:
            t.put(_applicant_item(a), condition=_at_version(ApplicantItem.version, a.version),
                  refusal=lambda: _changed_meanwhile(f"registration {a.applicant_id}", rule))
        if claim_code is not None:  # R3: one applicant per Code Number
            t.put(UniqueItem(pk=f"code#{claim_code}", sk="code", applicant_id=a.applicant_id, season=a.season),
                  condition=UniqueItem.pk.does_not_exist(),
                  refusal=CodeNumberTaken("that code number is taken", rule="R3", extra={"retry": True}))
        for e in ledger:  # R2 / R4: entry ids derive from the payment: never twice
            t.put(_entry_item(e), condition=LedgerItem.pk.does_not_exist(),
                  refusal=AlreadyInLedger("this payment is in the ledger already", rule=rule))
        t.announce(f"applicant#{a.applicant_id}", change.events, change.emails)
        try:
            t.commit()
        except Conflict as exc:
            if new and exc.extra.get("retry") and not isinstance(exc, CodeNumberTaken):
                # another registration of the same person is being written at this very moment
                raise Conflict(f"a registration with this CMS ID or email is being written in season {a.season}; "
                               "one registration per person and season (R5)", rule="R5") from exc
            raise
        return replace(a, version=a.version + 1)

    @staticmethod
    def _taken(a: Applicant) -> Conflict:
        """R5: names the field(s) another registration of the season holds."""
        fields = []
        for field, kind in (("cms_id", "cms"), ("email", "email")):
            item = _unique(kind, a)
            try:
                holder = UniqueItem.get(item.pk, item.sk, consistent_read=True)
            except DoesNotExist:
                continue
            if holder.applicant_id != a.applicant_id:
                fields.append(field)
        fields = fields or ["cms_id", "email"]
        what = " and ".join({"cms_id": f"CMS ID {a.cms_id}", "email": f"email {a.email}"}[f] for f in fields)
        return Conflict(f"{what} already has a registration in season {a.season}; one registration per person and "
                        "season (R5)", rule="R5", errors=[FieldError(f, "already registered this season")
                                                          for f in fields])


class DynamoLedger(Ledger):
    def append(self, entries: list[LedgerEntry]) -> None:
        for e in entries:
            try:
                _entry_item(e).save(condition=LedgerItem.pk.does_not_exist())
            except PutError as exc:
                if not _conditional_failure(exc):
                    raise
                # the same entry (same id) was written by an earlier attempt: never twice

    def append_announced(self, entry: LedgerEntry, now: datetime, events: Sequence = (),
                         emails: Sequence = ()) -> bool:
        t = Transaction(SERVICE, now)
        t.put(_entry_item(entry), condition=LedgerItem.pk.does_not_exist(),
              refusal=AlreadyInLedger(f"ledger entry {entry.entry_id} is written already"))
        t.announce(f"applicant#{entry.applicant_id}", events, emails)
        try:
            t.commit()
        except AlreadyInLedger:
            return False
        return True

    def entries(self, applicant_id: str) -> list[LedgerEntry]:
        items = LedgerItem.query(f"ledger#{applicant_id}", LedgerItem.sk.startswith("entry#"), consistent_read=True)
        ordered = sorted(items, key=lambda i: (i.at, i.recorded_ns or 0, i.entry_id))
        return [_entry(i) for i in ordered]


def _program(i: ProgramItem) -> Program:
    return Program(
        season=i.season, program_code=i.program_code, name=i.name, city=i.city, state=i.state, coth=i.coth,
        crip=i.crip, crip_section=i.crip_section, application_deadline=i.application_deadline,
        requirements=i.requirements, contact=i.contact.as_dict() if i.contact is not None else {},
        tracks=tuple(Track(t.track_code, t.name, int(t.positions), bool(t.withdrawn), t.withdrawal_reason)
                     for t in i.tracks or []),
        version=int(i.version or 0))


def _program_item(p: Program) -> ProgramItem:
    item = ProgramItem(
        pk=f"program#{p.program_code}", sk=f"season#{p.season}", season=p.season, program_code=p.program_code,
        name=p.name, city=p.city, state=p.state, coth=p.coth, crip=p.crip, crip_section=p.crip_section,
        application_deadline=p.application_deadline, requirements=p.requirements, contact=p.contact or None,
        tracks=[TrackMap(track_code=t.track_code, name=t.name, positions=t.positions, withdrawn=t.withdrawn or None,
                         withdrawal_reason=t.withdrawal_reason) for t in p.tracks],
        gsi1pk=f"season#{p.season}#programs", gsi1sk=p.program_code)
    if p.version:
        item.version = p.version
    return item


class DynamoProgramRepository(ProgramRepository):
    def __init__(self, clock: Now = _utcnow):
        self.clock = clock

    def get(self, program_code: str, season: str | None = None) -> Program:
        if season:
            try:
                return _program(ProgramItem.get(f"program#{program_code}", f"season#{season}", consistent_read=True))
            except DoesNotExist as exc:
                raise NotFound(f"no program {program_code} in season {season}") from exc
        latest = list(ProgramItem.query(f"program#{program_code}", ProgramItem.sk.startswith("season#"),
                                        scan_index_forward=False, limit=1, consistent_read=True))
        if not latest:
            raise NotFound(f"no program {program_code}")
        return _program(latest[0])

    def save(self, change: Change[Program], *, rule: str | None = "R8") -> Program:
        p = change.state
        item = _program_item(p)  # its version attribute conditions the put on the version read (none: new)
        t = Transaction(SERVICE, self.clock())
        if p.version == 0:
            t.put(item, condition=ProgramItem.pk.does_not_exist(), refusal=Conflict(
                f"program {p.program_code} is already registered in season {p.season}", rule="R8",
                errors=[FieldError("program_code", "already registered")]))
        else:
            t.put(item, refusal=lambda: _changed_meanwhile(f"program {p.program_code}", rule))
        t.announce(f"program#{p.program_code}#season#{p.season}", change.events, change.emails)
        t.commit()
        return replace(p, version=p.version + 1)

    def in_season(self, season: str) -> list[Program]:
        return sorted((_program(i) for i in ProgramItem.gsi1.query(f"season#{season}#programs")),
                      key=lambda p: p.program_code)
