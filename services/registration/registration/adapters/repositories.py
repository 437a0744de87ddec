"""Repositories of the registration service: the interfaces (fakes subclass them) and
their DynamoDB implementations. They return domain objects; every uniqueness and
every status transition is a DynamoDB condition or transaction, never read-then-write."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

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
from registration.domain.rules import CLOSED_UNPAID, PENDING, REGISTERED, WITHDRAWABLE, WITHDRAWN, Applicant
from shared.errors import Conflict, FieldError, NotFound, TemporarilyUnavailable
from shared.settings import Settings

CONDITION_FAILED = "ConditionalCheckFailed"


def _conditional_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _reasons(exc: TransactWriteError) -> list[str | None]:
    return [r.code if r is not None else None for r in (exc.cancellation_reasons or [])]


def _transaction_conflict(exc: TransactWriteError) -> bool:
    return getattr(exc, "cause_response_code", None) in ("TransactionConflictException",) or (
        "TransactionConflict" in _reasons(exc))


# ----------------------------------------------------------------------------- interfaces
class SeasonRepository(ABC):
    @abstractmethod
    def put(self, calendar: SeasonCalendar, now: datetime) -> SeasonCalendar:
        """Stores the calendar under the next version of the season (1 when the season is new);
        returns it with that version."""

    @abstractmethod
    def get(self, season: str) -> SeasonCalendar | None: ...

    @abstractmethod
    def seasons(self) -> list[str]: ...


class ApplicantRepository(ABC):
    @abstractmethod
    def add(self, applicant: Applicant) -> None:
        """R5: refuses (Conflict naming the field) a second registration of the CMS ID or email in the season."""

    @abstractmethod
    def get(self, applicant_id: str) -> Applicant: ...

    @abstractmethod
    def for_owner(self, sub: str) -> list[Applicant]: ...

    @abstractmethod
    def in_season(self, season: str, status: str | None = None) -> list[Applicant]: ...

    @abstractmethod
    def reserve_payment(self, applicant_id: str, intent: str) -> None:
        """Marks a payment in flight; refused unless pending and no other payment is in flight."""

    @abstractmethod
    def release_payment(self, applicant_id: str, intent: str) -> None: ...

    @abstractmethod
    def complete_payment(self, applicant_id: str, intent: str, *, season: str, payment_id: str,
                         payment_key: str, code_candidates: Iterable[str], credits: int,
                         entries: list[LedgerEntry], now: datetime, status_version: int = 0) -> str:
        """One transaction: a free code number, the applicant registered, the ledger entries.
        Returns the code number; Conflict when the registration left pending meanwhile (or its
        status changed since `status_version` was read: it becomes status_version + 1)."""

    @abstractmethod
    def add_credits(self, applicant_id: str, quantity: int, entries: list[LedgerEntry]) -> int:
        """One transaction: credits added (only while registered) and the ledger entries. Returns the total."""

    @abstractmethod
    def close_unpaid(self, applicant_id: str) -> bool:
        """pending_payment -> closed_unpaid; False when it was not pending any more."""

    @abstractmethod
    def withdraw(self, applicant: Applicant, reason: str, now: datetime) -> Applicant: ...

    @abstractmethod
    def reinstate(self, applicant_id: str, to_status: str) -> Applicant: ...

    @abstractmethod
    def update_profile(self, applicant_id: str, changes: dict) -> Applicant: ...


class Ledger(ABC):
    """Append-only: entries are added, never changed or removed."""

    @abstractmethod
    def append(self, entries: list[LedgerEntry]) -> None: ...

    @abstractmethod
    def entries(self, applicant_id: str) -> list[LedgerEntry]: ...


class ProgramRepository(ABC):
    @abstractmethod
    def add(self, program: Program) -> Program:
        """R8: refuses (Conflict) a program code already registered in the season. Returns the
        stored program (with its version)."""

    @abstractmethod
    def get(self, program_code: str, season: str | None = None) -> Program:
        """The program in `season`, or in its latest season when none is given."""

    @abstractmethod
    def save(self, program: Program) -> Program:
        """Optimistic: refused (Conflict) when the program changed since it was read."""

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
    def put(self, calendar: SeasonCalendar, now: datetime) -> SeasonCalendar:
        item = SeasonItem(pk=f"season#{calendar.season}", sk="calendar")
        item.update(actions=[  # one atomic write: concurrent PUTs get distinct versions
            SeasonItem.season.set(calendar.season), SeasonItem.calendar.set(calendar.iso()),
            SeasonItem.updated_at.set(now), SeasonItem.gsi1pk.set("seasons"), SeasonItem.gsi1sk.set(calendar.season),
            SeasonItem.version.add(1)])
        return replace(calendar, version=int(item.version))

    def get(self, season: str) -> SeasonCalendar | None:
        try:
            item = SeasonItem.get(f"season#{season}", "calendar", consistent_read=True)
        except DoesNotExist:
            return None
        from registration.domain.calendar import parse_calendar

        return replace(parse_calendar(season, dict(item.calendar.as_dict())), version=int(item.version or 1))

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
        withdrawn_at=i.withdrawn_at, status_version=int(i.status_version or 0))


def _key(applicant_id: str) -> ApplicantItem:
    return ApplicantItem(pk=f"applicant#{applicant_id}", sk="applicant")


def _status_sk(status: str, applicant_id: str) -> str:
    return f"{status}#{applicant_id}"


def _bump_status_version():
    """Every status change increments status_version in the same write."""
    return ApplicantItem.status_version.add(1)  # ADD: an absent attribute counts as 0


class DynamoApplicantRepository(ApplicantRepository):
    def __init__(self, settings: Settings | None = None):
        self._settings = settings or Settings.from_env()
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = Connection(region=self._settings.region)
        return self._connection

    def add(self, a: Applicant) -> None:
        item = ApplicantItem(
            pk=f"applicant#{a.applicant_id}", sk="applicant", applicant_id=a.applicant_id, season=a.season,
            owner_sub=a.owner_sub, first_name=a.first_name, last_name=a.last_name, email=a.email, cms_id=a.cms_id,
            college=a.college, graduation_year=a.graduation_year, status=a.status, credits_total=a.credits_total,
            credits_used=a.credits_used, timezone=a.timezone, warnings=a.warnings or None, created_at=a.created_at,
            address=a.address, phone=a.phone,
            gsi1pk=f"season#{a.season}#applicants", gsi1sk=_status_sk(a.status, a.applicant_id))
        cms = UniqueItem(pk=f"season#{a.season}#cms#{a.cms_id}", sk="unique", applicant_id=a.applicant_id,
                         season=a.season)
        email = UniqueItem(pk=f"season#{a.season}#email#{a.email.lower()}", sk="unique",
                           applicant_id=a.applicant_id, season=a.season)
        writes = [(item, ApplicantItem.pk.does_not_exist()), (cms, UniqueItem.pk.does_not_exist()),
                  (email, UniqueItem.pk.does_not_exist())]
        if a.owner_sub:
            writes.append((OwnerItem(pk=f"owner#{a.owner_sub}", sk=f"applicant#{a.applicant_id}",
                                     applicant_id=a.applicant_id, season=a.season), None))
        try:
            with TransactWrite(connection=self.connection) as t:
                for model, condition in writes:
                    t.save(model, condition=condition)
        except TransactWriteError as exc:
            reasons = _reasons(exc)
            taken = [f for f, r in zip(("applicant_id", "cms_id", "email"), reasons, strict=False)
                     if r == CONDITION_FAILED]
            if "cms_id" in taken or "email" in taken:
                fields = [f for f in ("cms_id", "email") if f in taken]
                what = " and ".join({"cms_id": f"CMS ID {a.cms_id}", "email": f"email {a.email}"}[f] for f in fields)
                raise Conflict(f"{what} already has a registration in season {a.season}; one registration per "
                               "person and season (R5)", rule="R5",
                               errors=[FieldError(f, "already registered this season") for f in fields]) from exc
            if _transaction_conflict(exc) or not reasons:
                # another registration of the same person is being written at this very moment
                raise Conflict(f"a registration with CMS ID {a.cms_id} or email {a.email} is being written "
                               f"in season {a.season}; one registration per person and season (R5)",
                               rule="R5") from exc
            raise

    def get(self, applicant_id: str) -> Applicant:
        try:
            return _applicant(ApplicantItem.get(f"applicant#{applicant_id}", "applicant", consistent_read=True))
        except DoesNotExist as exc:
            raise NotFound(f"no applicant {applicant_id}") from exc

    def for_owner(self, sub: str) -> list[Applicant]:
        ids = [o.applicant_id for o in OwnerItem.query(f"owner#{sub}", OwnerItem.sk.startswith("applicant#"))]
        return [self.get(i) for i in ids]

    def in_season(self, season: str, status: str | None = None) -> list[Applicant]:
        condition = ApplicantItem.gsi1sk.startswith(f"{status}#") if status else None
        return [_applicant(i) for i in ApplicantItem.gsi1.query(f"season#{season}#applicants", condition)]

    def reserve_payment(self, applicant_id: str, intent: str) -> None:
        try:
            _key(applicant_id).update(
                actions=[ApplicantItem.payment_intent.set(intent)],
                condition=(ApplicantItem.status == PENDING) & ApplicantItem.payment_intent.does_not_exist())
        except UpdateError as exc:
            if not _conditional_failure(exc):
                raise
            current = self.get(applicant_id)
            if current.status == PENDING and current.payment_intent:
                raise Conflict("another payment of this registration is in progress; retry in a moment",
                               rule="R2") from exc
            from registration.domain.rules import check_payment

            check_payment(current, current.amount_due_cents)  # raises the precise refusal
            raise Conflict("the registration changed meanwhile; retry", rule="R2") from exc

    def release_payment(self, applicant_id: str, intent: str) -> None:
        try:
            _key(applicant_id).update(actions=[ApplicantItem.payment_intent.remove()],
                                      condition=ApplicantItem.payment_intent == intent)
        except UpdateError as exc:
            if not _conditional_failure(exc):
                raise

    def complete_payment(self, applicant_id: str, intent: str, *, season: str, payment_id: str,
                         payment_key: str, code_candidates: Iterable[str], credits: int,
                         entries: list[LedgerEntry], now: datetime, status_version: int = 0) -> str:
        unchanged = ((ApplicantItem.status_version == status_version) if status_version
                     else ApplicantItem.status_version.does_not_exist() | (ApplicantItem.status_version == 0))
        pending_entries = list(entries)
        for code in code_candidates:
            code_item = UniqueItem(pk=f"code#{code}", sk="code", applicant_id=applicant_id, season=season)
            try:
                with TransactWrite(connection=self.connection) as t:
                    t.save(code_item, condition=UniqueItem.pk.does_not_exist())
                    t.update(_key(applicant_id), actions=[
                        ApplicantItem.status.set(REGISTERED), ApplicantItem.code_number.set(code),
                        ApplicantItem.credits_total.set(credits), ApplicantItem.registered_at.set(now),
                        ApplicantItem.payment_id.set(payment_id), ApplicantItem.payment_key.set(payment_key),
                        ApplicantItem.payment_intent.remove(),
                        ApplicantItem.gsi1sk.set(_status_sk(REGISTERED, applicant_id)),
                        ApplicantItem.status_version.set(status_version + 1),
                    ], condition=(ApplicantItem.status == PENDING) & (ApplicantItem.payment_intent == intent)
                        & unchanged)
                    for e in pending_entries:
                        t.save(_entry_item(e), condition=LedgerItem.pk.does_not_exist())
                return code
            except TransactWriteError as exc:
                reasons = _reasons(exc)
                if len(reasons) > 1 and reasons[1] == CONDITION_FAILED:
                    raise Conflict("the registration is no longer pending payment", rule="R2") from exc
                if CONDITION_FAILED in reasons[2:]:
                    pending_entries = []  # this payment's entries are on the ledger already
                    continue  # (the code number, if free, is tried again below: not taken by us)
                if reasons and reasons[0] == CONDITION_FAILED:
                    continue  # R3: the code number is taken: try another
                if _transaction_conflict(exc):
                    continue
                raise
        raise TemporarilyUnavailable("no free code number was found; retry")

    def add_credits(self, applicant_id: str, quantity: int, entries: list[LedgerEntry]) -> int:
        try:
            with TransactWrite(connection=self.connection) as t:
                t.update(_key(applicant_id), actions=[ApplicantItem.credits_total.add(quantity)],
                         condition=ApplicantItem.status == REGISTERED)
                for e in entries:
                    t.save(_entry_item(e), condition=LedgerItem.pk.does_not_exist())
        except TransactWriteError as exc:
            reasons = _reasons(exc)
            if reasons and reasons[0] == CONDITION_FAILED:
                raise Conflict("only registered applicants buy credits", rule="R4") from exc
            if CONDITION_FAILED in reasons[1:]:
                raise Conflict("this purchase is in the ledger already", rule="R4") from exc
            raise
        return self.get(applicant_id).credits_total

    def close_unpaid(self, applicant_id: str) -> bool:
        try:
            _key(applicant_id).update(actions=[
                _bump_status_version(),
                ApplicantItem.status.set(CLOSED_UNPAID),
                ApplicantItem.gsi1sk.set(_status_sk(CLOSED_UNPAID, applicant_id)),
            ], condition=ApplicantItem.status == PENDING)
            return True
        except UpdateError as exc:
            if _conditional_failure(exc):
                return False
            raise

    def withdraw(self, applicant: Applicant, reason: str, now: datetime) -> Applicant:
        try:
            item = _key(applicant.applicant_id)
            item.update(actions=[
                _bump_status_version(),
                ApplicantItem.status.set(WITHDRAWN),
                ApplicantItem.status_before_withdrawal.set(applicant.status),
                ApplicantItem.withdrawal_reason.set(reason), ApplicantItem.withdrawn_at.set(now),
                ApplicantItem.gsi1sk.set(_status_sk(WITHDRAWN, applicant.applicant_id)),
            ], condition=(ApplicantItem.status == applicant.status) & ApplicantItem.status.is_in(*WITHDRAWABLE))
        except UpdateError as exc:
            if _conditional_failure(exc):
                raise Conflict("the registration changed meanwhile (or cannot be withdrawn); reload and retry",
                               rule="R7") from exc
            raise
        return _applicant(item)  # as written by this update (ALL_NEW): its status_version is this change's

    def reinstate(self, applicant_id: str, to_status: str) -> Applicant:
        try:
            item = _key(applicant_id)
            item.update(actions=[
                _bump_status_version(),
                ApplicantItem.status.set(to_status), ApplicantItem.status_before_withdrawal.remove(),
                ApplicantItem.withdrawal_reason.remove(), ApplicantItem.withdrawn_at.remove(),
                ApplicantItem.gsi1sk.set(_status_sk(to_status, applicant_id)),
            ], condition=ApplicantItem.status == WITHDRAWN)
        except UpdateError as exc:
            if _conditional_failure(exc):
                raise Conflict("only a withdrawn registration can be reinstated", rule="R7") from exc
            raise
        return _applicant(item)  # as written by this update (ALL_NEW): its status_version is this change's

    def update_profile(self, applicant_id: str, changes: dict) -> Applicant:
        attrs = {"first_name": ApplicantItem.first_name, "last_name": ApplicantItem.last_name,
                 "phone": ApplicantItem.phone, "timezone": ApplicantItem.timezone,
                 "address": ApplicantItem.address}
        actions = [attrs[k].set(v) for k, v in changes.items() if k in attrs and v is not None]
        if actions:
            try:
                _key(applicant_id).update(actions=actions, condition=ApplicantItem.pk.exists())
            except UpdateError as exc:
                if _conditional_failure(exc):
                    raise NotFound(f"no applicant {applicant_id}") from exc
                raise
        return self.get(applicant_id)


class DynamoLedger(Ledger):
    def append(self, entries: list[LedgerEntry]) -> None:
        for e in entries:
            try:
                _entry_item(e).save(condition=LedgerItem.pk.does_not_exist())
            except PutError as exc:
                if not _conditional_failure(exc):
                    raise
                # the same entry (same id) was written by an earlier attempt: never twice

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
    def add(self, program: Program) -> Program:
        item = _program_item(program)
        try:
            item.save(condition=ProgramItem.pk.does_not_exist())  # sets the version attribute to 1
        except PutError as exc:
            if _conditional_failure(exc):
                raise Conflict(f"program {program.program_code} is already registered in season {program.season}",
                               rule="R8", errors=[FieldError("program_code", "already registered")]) from exc
            raise
        return _program(item)

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

    def save(self, program: Program) -> Program:
        item = _program_item(program)
        try:
            item.save()  # the version attribute makes this conditional on the version read
        except PutError as exc:
            if _conditional_failure(exc):
                raise Conflict(f"program {program.program_code} was changed meanwhile; reload and retry",
                               rule="R8") from exc
            raise
        return _program(item)

    def in_season(self, season: str) -> list[Program]:
        return sorted((_program(i) for i in ProgramItem.gsi1.query(f"season#{season}#programs")),
                      key=lambda p: p.program_code)
