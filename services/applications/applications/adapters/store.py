"""The applications service's repository on DynamoDB: it returns domain objects, and every
write that announces something commits with its outbox items in one transaction
(shared.adapters.outbox.Transaction).

- the application (documents, letters, status) is saved at version + 1, conditioned on the
  version read: a stale write is a 409;
- a designation is ONE transaction: the designation item (absent before: one per program and
  round), the applicant's credit counter moved from the count read to one more (and only while
  it is below the credits bought, the applicant is not withdrawn and may apply: A3, A5), a check
  that the application is submitted, and its events. Credits can never be overspent, whatever
  runs at the same time (DESIGN rule 9);
- a delivery marks the designation delivered (once) with its event, and writes the program's
  desk row of it (what the list and CSV show) from the application, college record and facts
  read, checking in the same transaction that none of the three changed since;
- every later change of what a desk row shows (letters received, the record's GPA and class
  rank, the exam attempts, the program's review) updates the applicant's desk rows in its own
  transaction, and checks that each designation it found undelivered still is (a delivery
  committing in between makes one of the two retry): the rows never go stale."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist

from applications.adapters.models import (
    META,
    ApplicationItem,
    CalendarItem,
    ClinicalMap,
    CollegeRecordItem,
    DesignationItem,
    DeskRowItem,
    DocumentMap,
    FactsItem,
    LetterMap,
    LetterPointerItem,
    ProgramFactsItem,
    ResultItem,
)
from applications.domain.application import Application, Document, Letter
from applications.domain.college import Clinical, CollegeRecord
from applications.domain.designations import ApplicantFacts, Calendar, Designation, ProgramFacts
from applications.domain.review import DeskRow, Review, desk_row, letters_received, record_shown
from shared.adapters.dynamo import batch_get
from shared.adapters.outbox import Transaction, shared_connection
from shared.clock import parse_instant
from shared.contracts import Contract
from shared.errors import Conflict, FieldError, NotFound, RuleViolation
from shared.outbox import Change

SERVICE = "applications"
Now = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _stream(applicant_id: str) -> str:
    return f"applicant#{applicant_id}"


class CreditCounterMoved(Conflict):
    """The applicant's credit counter, withdrawal or Part I pass changed since it was read:
    read again and decide again."""


class SourcesMoved(Conflict):
    """What a desk row shows changed while it was being written: read again and write again."""


DELIVERY_RETRIES = 8
# one applicant's deliveries in one transaction: 2 writes and 1 outbox item each, 3 checks
DELIVERIES_PER_TRANSACTION = 10


@dataclass(frozen=True)
class ApplicantRead:
    """What one request knows of an applicant, from ONE strongly consistent Query of its
    partition (applicant#{id}): the facts and credit counter, the application, the designations
    and the college record. A use case reads it once and passes it down instead of reading each
    item again (each check is still made by the write's conditions, not by this read)."""

    applicant_id: str
    facts: ApplicantFacts | None
    application: Application | None  # None: no application stored yet (a draft of version 0)
    designations: list[Designation] | None  # None: not read (read where needed)
    record: CollegeRecord | None
    results: tuple[dict, ...] = ()  # the exam attempts stored (result items; by the partition's Query only)
    results_version: int = 0  # the facts item's results_version (also before registration arrived)

    def app(self, season: str) -> Application:
        return self.application or Application(applicant_id=self.applicant_id, season=season)


# ----------------------------------------------------------------------------- mapping
def _facts(i: FactsItem) -> ApplicantFacts:
    return ApplicantFacts(
        applicant_id=i.applicant_id or i.pk.removeprefix("applicant#"), season=i.season or "",
        owner_sub=i.owner_sub, first_name=i.first_name or "", last_name=i.last_name or "", email=i.email or "",
        code_number=i.code_number, college=i.college or "", withdrawn=bool(i.withdrawn),
        may_apply=bool(i.may_apply), in_mpii=bool(i.in_mpii), scores_released=bool(i.scores_released),
        release_explanation=i.release_explanation or "", release_missing=bool(i.release_missing),
        results=_results(i.results_json), results_version=int(i.results_version or 0),
        profile_version=int(i.profile_version or 0),
        programs_designated=tuple(sorted(i.programs_designated or ())),
        credits_total=int(i.credits_total or 0),
        credits_used=int(i.credits_used or 0))


def _results(text: str | None) -> tuple[dict, ...]:
    out = []
    for r in json.loads(text or "[]"):
        r["visible_from"] = parse_instant(r["visible_from"]) if r.get("visible_from") else None
        out.append(r)
    return tuple(sorted(out, key=lambda r: (r["exam"], r["exam_date"], r["result_id"])))


def _document(m) -> Document:
    return Document(m.document_id, m.kind, m.filename, int(m.size), m.status, m.created_at, m.completed_at)


def _letter(m) -> Letter:
    return Letter(m.letter_id, m.writer_name, m.writer_email, m.label, bool(m.waived), m.status, m.requested_at,
                  m.responded_at, m.received_at, m.reminded_at, int(m.size) if m.size is not None else None,
                  m.upload_id, m.file_id)


def _application(i: ApplicationItem) -> Application:
    return Application(applicant_id=i.applicant_id, season=i.season, status=i.status, submitted_at=i.submitted_at,
                       documents=tuple(_document(d) for d in i.documents or []),
                       letters=tuple(_letter(x) for x in i.letters or []), version=int(i.version or 0))


def _application_item(a: Application) -> ApplicationItem:
    return ApplicationItem(
        pk=f"applicant#{a.applicant_id}", sk="application", applicant_id=a.applicant_id, season=a.season,
        status=a.status, submitted_at=a.submitted_at,
        documents=[DocumentMap(document_id=d.document_id, kind=d.kind, filename=d.filename, size=d.size,
                               status=d.status, created_at=d.created_at, completed_at=d.completed_at)
                   for d in a.documents],
        letters=[LetterMap(letter_id=x.letter_id, writer_name=x.writer_name, writer_email=x.writer_email,
                           label=x.label, waived=x.waived, status=x.status, requested_at=x.requested_at,
                           responded_at=x.responded_at, received_at=x.received_at, reminded_at=x.reminded_at,
                           size=x.size, upload_id=x.upload_id, file_id=x.file_id) for x in a.letters],
        version=a.version + 1)


def _designation(i: DesignationItem) -> Designation:
    return Designation(i.applicant_id, i.season, i.program_code, i.round, i.designated_at, i.delivered_at,
                       int(i.credit_number or 0), i.idempotency_key)


def _designation_sk(round_: str, code: str) -> str:
    return f"designation#{round_}#{code}"


def _program(i: ProgramFactsItem) -> ProgramFacts:
    return ProgramFacts(season=i.season, program_code=i.program_code, name=i.name or "",
                        application_deadline=i.application_deadline,
                        mpii_tracks=tuple(i.mpii_tracks or ()), track_codes=tuple(i.track_codes or ()))


def _result_row(i: ResultItem) -> dict:
    return {"result_id": i.sk.removeprefix("result#"), "exam": i.exam, "exam_date": i.exam_date,
            "result": i.result, "official": bool(i.official), "visible_from": i.visible_from}


def _sorted_results(rows: Iterable[dict]) -> tuple[dict, ...]:
    return tuple(sorted(rows, key=lambda r: (r["exam"], r["exam_date"], r["result_id"])))


def _calendar(season: str, item: CalendarItem | None) -> Calendar:
    if item is None:
        return Calendar(season)
    return Calendar(season, {k: parse_instant(v) for k, v in (item.calendar.as_dict() if item.calendar
                                                                 else {}).items()})


def _record(i: CollegeRecordItem) -> CollegeRecord:
    return CollegeRecord(applicant_id=i.applicant_id, college=i.college,
                         gpa=float(i.gpa) if i.gpa is not None else None,
                         class_rank=int(i.class_rank) if i.class_rank is not None else None,
                         class_size=int(i.class_size) if i.class_size is not None else None,
                         clinicals=tuple(Clinical(c.site, c.specialty, int(c.weeks)) for c in i.clinicals or []),
                         documents=tuple(_document(d) for d in i.documents or []), updated_at=i.updated_at,
                         version=int(i.version or 0))


def _desk_pk(program_code: str, season: str) -> str:
    return f"desk#{program_code}#{season}"


def desk_item(program_code: str, season: str, applicant_id: str) -> DeskRowItem:
    return DeskRowItem(pk=_desk_pk(program_code, season), sk=f"applicant#{applicant_id}")


def _review(i: DeskRowItem) -> Review | None:
    if not i.review:
        return None
    program_code, season = i.pk.removeprefix("desk#").split("#", 1)
    r = json.loads(i.review)
    return Review(program_code=program_code, season=season, applicant_id=i.sk.removeprefix("applicant#"),
                  tags=tuple(r.get("tags") or ()), rating=r.get("rating"), review_status=r.get("review_status") or "new",
                  notes=r.get("notes") or "",
                  updated_at=parse_instant(r["updated_at"]) if r.get("updated_at") else None)


def _desk_row(i: DeskRowItem) -> DeskRow:
    program_code, season = i.pk.removeprefix("desk#").split("#", 1)
    who = json.loads(i.who or "{}")
    record = json.loads(i.record or "{}")
    return DeskRow(program_code=program_code, season=season, applicant_id=i.sk.removeprefix("applicant#"),
                   round=who.get("round") or "",
                   delivered_at=parse_instant(who["delivered_at"]) if who.get("delivered_at") else None,
                   first_name=who.get("first_name") or "", last_name=who.get("last_name") or "",
                   code_number=who.get("code_number"), college=who.get("college") or "",
                   gpa=record.get("gpa"), class_rank=record.get("class_rank"), class_size=record.get("class_size"),
                   letters_received=int(i.letters_received or 0), results=_results(i.results_json),
                   review=_review(i))


def results_json(results) -> str:
    """The exam attempts as stored on the facts item and the desk rows."""
    return json.dumps([{**r, "visible_from": r["visible_from"].isoformat() if isinstance(r.get("visible_from"),
                                                                                        datetime)
                        else r.get("visible_from")} for r in results])


def _desk_actions(row: DeskRow) -> list:
    """What a delivery writes of its desk row (the first delivery's round and instant stay when
    the applicant is delivered to the program again in MPII; the review is left as it is)."""
    D = DeskRowItem
    who = json.dumps({"first_name": row.first_name, "last_name": row.last_name, "code_number": row.code_number,
                      "college": row.college, "round": row.round,
                      "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None})
    return [D.who.set(D.who | who), _record_action(row.gpa, row.class_rank, row.class_size),
            D.letters_received.set(row.letters_received), D.results_json.set(results_json(row.results))]


def _record_action(gpa, class_rank, class_size):
    return DeskRowItem.record.set(json.dumps({"gpa": gpa, "class_rank": class_rank, "class_size": class_size}))


def desk_sync(t: Transaction, designations: Iterable[Designation], applicant_id: str, actions: list,
              refusal: Conflict) -> None:
    """Adds to a change's transaction the update of the applicant's desk rows (one per program it
    was delivered to) and, per designation not delivered yet, a check that it still is not: a
    delivery committing meanwhile (its row made from what it read before this change) makes one
    of the two fail and retry."""
    rows: set[tuple[str, str]] = set()
    for d in designations:
        if d.delivered_at is not None:
            rows.add((d.program_code, d.season))
        else:
            t.check(DesignationItem, f"applicant#{applicant_id}", _designation_sk(d.round, d.program_code),
                    condition=DesignationItem.delivered_at.does_not_exist(), refusal=refusal)
    for program_code, season in sorted(rows):
        t.update(desk_item(program_code, season, applicant_id), actions=list(actions))


# ----------------------------------------------------------------------------- the interface
class ApplicationStore(ABC):
    # applicants
    @abstractmethod
    def facts(self, applicant_id: str) -> ApplicantFacts | None: ...

    @abstractmethod
    def students(self, college: str, season: str) -> list[ApplicantFacts]: ...

    @abstractmethod
    def facts_many(self, applicant_ids: list[str]) -> dict[str, ApplicantFacts]: ...

    @abstractmethod
    def applications_many(self, applicant_ids: list[str]) -> dict[str, Application]: ...

    @abstractmethod
    def applicant(self, applicant_id: str) -> ApplicantRead:
        """The applicant's facts, application, designations and college record in one read."""

    @abstractmethod
    def applicants_many(self, applicant_ids: list[str]) -> dict[str, ApplicantRead]:
        """The facts, application and college record of many applicants in batches (no
        designations); only the registered ones."""

    @abstractmethod
    def letter_reads(self, letter_id: str, applicant_id: str) -> tuple[str | None, ApplicantFacts | None,
                                                                      Application | None]:
        """The letter's owner, the applicant's facts and application in one read."""

    # the application
    @abstractmethod
    def application(self, applicant_id: str, season: str) -> Application:
        """The stored application, or a new draft (version 0)."""

    @abstractmethod
    def save(self, change: Change[Application], *, rule: str | None = None,
             new_letter: str | None = None, before: Application | None = None,
             designations: list[Designation] | None = None) -> Application:
        """`before`: the application as read (the desk rows are updated only when what they
        show of it changed; without it, always). `designations`: the applicant's designations
        read with it (read here when needed and not given)."""

    @abstractmethod
    def letter_owner(self, letter_id: str) -> str | None: ...

    # designations
    @abstractmethod
    def designations(self, applicant_id: str) -> list[Designation]: ...

    @abstractmethod
    def designate(self, d: Designation, facts: ApplicantFacts, events: Iterable[Contract],
                  read: ApplicantRead | None = None) -> Designation:
        """`read`: the application and college record read with `facts` (a designation
        delivered at once makes its desk row of them; read here when not given)."""

    @abstractmethod
    def undelivered(self, season: str) -> list[Designation]: ...

    @abstractmethod
    def deliver(self, d: Designation, at: datetime, events: Iterable[Contract],
                read: ApplicantRead | None = None) -> bool:
        """Marks it delivered with its events; False when it was delivered already. `read`: the
        applicant's facts, application and record read before (the first attempt uses them; the
        transaction checks they are unchanged, and a retry reads them again)."""

    @abstractmethod
    def deliver_many(self, ds: list[Designation], at: datetime,
                     events_of: Callable[[Designation], list[Contract]], read: ApplicantRead | None = None) -> int:
        """Several designations of one applicant delivered together (one transaction when they are
        of distinct programs and at most DELIVERIES_PER_TRANSACTION); returns how many were
        delivered now (those delivered already are not again)."""

    @abstractmethod
    def delivered_to(self, program_code: str, season: str) -> list[Designation]: ...

    # what other services announced
    @abstractmethod
    def program(self, program_code: str, season: str) -> ProgramFacts | None: ...

    @abstractmethod
    def calendar(self, season: str) -> Calendar: ...

    @abstractmethod
    def programs_and_calendar(self, program_codes: Iterable[str], season: str
                              ) -> tuple[dict[str, ProgramFacts], Calendar]:
        """The programs' facts (those known) and the season's calendar in one read."""

    @abstractmethod
    def latest_season(self, program_code: str) -> str | None: ...

    # college records (A2) and exam results (S6)
    @abstractmethod
    def college_record(self, applicant_id: str) -> CollegeRecord | None: ...

    @abstractmethod
    def college_records_many(self, applicant_ids: list[str]) -> dict[str, CollegeRecord]: ...

    @abstractmethod
    def save_college_record(self, record: CollegeRecord, read_version: int,
                            before: CollegeRecord | None = None,
                            designations: list[Designation] | None = None) -> None: ...

    @abstractmethod
    def results(self, applicant_id: str) -> list[dict]: ...

    # reviews (A6)
    @abstractmethod
    def review(self, program_code: str, season: str, applicant_id: str) -> Review | None: ...

    @abstractmethod
    def save_review(self, review: Review) -> None:
        """Only on the desk row of a delivered application (NotFound otherwise)."""

    @abstractmethod
    def desk(self, program_code: str, season: str) -> list[DeskRow]:
        """The program's desk rows of the season: one per delivered application, one Query."""


# ----------------------------------------------------------------------------- DynamoDB
class DynamoApplicationStore(ApplicationStore):
    def __init__(self, clock: Now = _utcnow):
        self.clock = clock
        self._connection: Connection | None = None

    def _transaction(self) -> Transaction:
        """A transaction on the process's shared connection (one botocore client, not one per
        write nor per store: the consumers' projections make a store per event)."""
        return Transaction(SERVICE, self.clock(), connection=self._conn())

    def _conn(self) -> Connection:
        if self._connection is None:
            self._connection = shared_connection(META.region)
        return self._connection

    def _dispatch(self, operation: str, args: dict) -> dict:
        return self._conn().dispatch(operation, args)

    def _batch(self, wanted: dict[tuple[str, str], type]) -> dict[tuple[str, str], object]:
        """Strongly consistent BatchGetItem of items of several kinds (shared.adapters.dynamo.batch_get)."""
        return batch_get(self._dispatch, META.table_name, wanted)

    # ---- applicants
    def applicant(self, applicant_id: str) -> ApplicantRead:
        pk = f"applicant#{applicant_id}"
        args: dict = {"TableName": META.table_name, "KeyConditionExpression": "pk = :pk",
                      "ExpressionAttributeValues": {":pk": {"S": pk}}, "ConsistentRead": True}
        facts = app = record = None
        designations, results, results_version = [], [], 0
        while True:
            page = self._dispatch("Query", args)
            for raw in page.get("Items", []):
                sk = raw["sk"]["S"]
                if sk == "facts":
                    item = FactsItem.from_raw_data(raw)
                    facts = _facts(item) if item.season else None  # not registered here yet
                    results_version = int(item.results_version or 0)
                elif sk.startswith("result#"):
                    results.append(_result_row(ResultItem.from_raw_data(raw)))
                elif sk == "application":
                    app = _application(ApplicationItem.from_raw_data(raw))
                elif sk == "college_record":
                    record = _record(CollegeRecordItem.from_raw_data(raw))
                elif sk.startswith("designation#"):
                    designations.append(_designation(DesignationItem.from_raw_data(raw)))
            if not page.get("LastEvaluatedKey"):
                break
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        designations.sort(key=lambda d: (d.designated_at, d.program_code))
        return ApplicantRead(applicant_id, facts, app, designations, record, _sorted_results(results),
                             results_version)

    def applicants_many(self, applicant_ids: list[str]) -> dict[str, ApplicantRead]:
        wanted: dict[tuple[str, str], type] = {}
        for i in dict.fromkeys(applicant_ids):
            wanted[(f"applicant#{i}", "facts")] = FactsItem
            wanted[(f"applicant#{i}", "application")] = ApplicationItem
            wanted[(f"applicant#{i}", "college_record")] = CollegeRecordItem
        found = self._batch(wanted)
        out = {}
        for i in dict.fromkeys(applicant_ids):
            f = found.get((f"applicant#{i}", "facts"))
            if f is None or not f.season:
                continue
            a, r = found.get((f"applicant#{i}", "application")), found.get((f"applicant#{i}", "college_record"))
            out[i] = ApplicantRead(i, _facts(f), _application(a) if a is not None else None, None,
                                   _record(r) if r is not None else None)
        return out

    def letter_reads(self, letter_id: str, applicant_id: str) -> tuple[str | None, ApplicantFacts | None,
                                                                      Application | None]:
        pointer, facts, app = (f"letter#{letter_id}", "letter"), (f"applicant#{applicant_id}", "facts"), \
            (f"applicant#{applicant_id}", "application")
        found = self._batch({pointer: LetterPointerItem, facts: FactsItem, app: ApplicationItem})
        p, f, a = found.get(pointer), found.get(facts), found.get(app)
        return (p.applicant_id if p is not None else None, _facts(f) if f is not None and f.season else None,
                _application(a) if a is not None else None)

    def facts(self, applicant_id: str) -> ApplicantFacts | None:
        try:
            item = FactsItem.get(f"applicant#{applicant_id}", "facts", consistent_read=True)
        except DoesNotExist:
            return None
        if not item.season:  # only a credit purchase arrived so far: not yet registered here
            return None
        return _facts(item)

    def students(self, college: str, season: str) -> list[ApplicantFacts]:
        return [_facts(i) for i in FactsItem.gsi1.query(f"college#{college}#season#{season}")]

    def facts_many(self, applicant_ids: list[str]) -> dict[str, ApplicantFacts]:
        keys = [(f"applicant#{i}", "facts") for i in dict.fromkeys(applicant_ids)]
        return {f.applicant_id: f for f in (_facts(i) for i in FactsItem.batch_get(keys)) if f.season}

    def applications_many(self, applicant_ids: list[str]) -> dict[str, Application]:
        keys = [(f"applicant#{i}", "application") for i in dict.fromkeys(applicant_ids)]
        return {a.applicant_id: a for a in (_application(i) for i in ApplicationItem.batch_get(keys))}

    # ---- the application
    def application(self, applicant_id: str, season: str) -> Application:
        try:
            return _application(ApplicationItem.get(f"applicant#{applicant_id}", "application",
                                                     consistent_read=True))
        except DoesNotExist:
            return Application(applicant_id=applicant_id, season=season)

    def save(self, change: Change[Application], *, rule: str | None = None,
             new_letter: str | None = None, before: Application | None = None,
             designations: list[Designation] | None = None) -> Application:
        a = change.state
        t = self._transaction()
        condition = (ApplicationItem.version == a.version) if a.version else ApplicationItem.pk.does_not_exist()
        moved = lambda: Conflict("the application changed meanwhile; reload and retry", rule=rule)  # noqa: E731
        t.put(_application_item(a), condition=condition, refusal=moved)
        if new_letter:
            t.put(LetterPointerItem(pk=f"letter#{new_letter}", sk="letter", applicant_id=a.applicant_id),
                  condition=LetterPointerItem.pk.does_not_exist())
        if a.version and (before is None or letters_received(before) != letters_received(a)):
            desk_sync(t, self.designations(a.applicant_id) if designations is None else designations,
                      a.applicant_id, [DeskRowItem.letters_received.set(letters_received(a))], moved())
        t.announce(_stream(a.applicant_id), change.events, change.emails)
        t.commit()
        return replace(a, version=a.version + 1)

    def letter_owner(self, letter_id: str) -> str | None:
        try:
            return LetterPointerItem.get(f"letter#{letter_id}", "letter").applicant_id
        except DoesNotExist:
            return None

    # ---- designations
    def designations(self, applicant_id: str) -> list[Designation]:
        items = DesignationItem.query(f"applicant#{applicant_id}", DesignationItem.sk.startswith("designation#"),
                                      consistent_read=True)
        return sorted((_designation(i) for i in items), key=lambda d: (d.designated_at, d.program_code))

    def designate(self, d: Designation, facts: ApplicantFacts, events: Iterable[Contract],
                  read: ApplicantRead | None = None) -> Designation:
        n = facts.credits_used
        t = self._transaction()
        submitted = ApplicationItem.status == "submitted"
        refusal: object = RuleViolation("submit the application first (A1)", rule="A1")
        unchanged = None
        if d.delivered_at is not None:
            # delivered at once: its desk row is made from what is read here, unchanged at commit
            if read is None:
                item = self._app_item(d.applicant_id)
                app, record = (_application(item) if item is not None else None), self.college_record(d.applicant_id)
            else:
                app, record = read.application, read.record
            if app is not None and app.status == "submitted":
                submitted = submitted & (ApplicationItem.version == app.version)
                refusal = CreditCounterMoved("the application changed meanwhile", extra={"retry": True})
            self._check_record(t, d.applicant_id, record)
            unchanged = facts_unchanged(facts)
            row = desk_row(d.program_code, d.season, d.applicant_id, d.round, d.delivered_at, facts, app, record)
            t.update(desk_item(d.program_code, d.season, d.applicant_id), actions=_desk_actions(row))
        t.check(ApplicationItem, f"applicant#{d.applicant_id}", "application", condition=submitted, refusal=refusal)
        used = FactsItem.credits_used == n
        if n == 0:
            used = used | FactsItem.credits_used.does_not_exist()
        condition = used & (FactsItem.credits_total > n) & (FactsItem.may_apply == True)  # noqa: E712
        condition = condition & (FactsItem.withdrawn.does_not_exist() | (FactsItem.withdrawn == False))  # noqa: E712
        if unchanged is not None:
            condition = condition & unchanged
        t.update(FactsItem(pk=f"applicant#{d.applicant_id}", sk="facts"),
                 actions=[FactsItem.credits_used.set(n + 1), FactsItem.programs_designated.add({d.program_code})],
                 condition=condition,
                 refusal=lambda: CreditCounterMoved("the credit counter changed meanwhile", extra={"retry": True}))
        stored = replace(d, credit_number=n + 1)
        item = DesignationItem(pk=f"applicant#{d.applicant_id}", sk=_designation_sk(d.round, d.program_code),
                               applicant_id=d.applicant_id, season=d.season, program_code=d.program_code,
                               round=d.round, designated_at=d.designated_at, delivered_at=d.delivered_at,
                               credit_number=n + 1, idempotency_key=d.idempotency_key)
        self._index(item)
        t.put(item, condition=DesignationItem.pk.does_not_exist(), refusal=Conflict(
            f"you have designated program {d.program_code} already", rule="A5",
            errors=[FieldError("program_code", "already designated")]))
        t.announce(_stream(d.applicant_id), events)
        t.commit()
        return stored

    def _app_item(self, applicant_id: str) -> ApplicationItem | None:
        try:
            return ApplicationItem.get(f"applicant#{applicant_id}", "application", consistent_read=True)
        except DoesNotExist:
            return None

    @staticmethod
    def _check_record(t: Transaction, applicant_id: str, record: CollegeRecord | None) -> None:
        t.check(CollegeRecordItem, f"applicant#{applicant_id}", "college_record",
                condition=(CollegeRecordItem.version == record.version) if record is not None and record.version
                else CollegeRecordItem.pk.does_not_exist(),
                refusal=SourcesMoved("the college record changed meanwhile", extra={"retry": True}))

    @staticmethod
    def _index(item: DesignationItem) -> None:
        if item.delivered_at is None:
            item.gsi1pk, item.gsi1sk = f"undelivered#{item.season}", f"{item.applicant_id}#{item.round}#" \
                                                                      f"{item.program_code}"
        else:
            item.gsi1pk, item.gsi1sk = f"delivered#{item.season}#{item.program_code}", \
                f"{item.applicant_id}#{item.round}"

    def undelivered(self, season: str) -> list[Designation]:
        return [_designation(i) for i in DesignationItem.gsi1.query(f"undelivered#{season}")]

    def deliver(self, d: Designation, at: datetime, events: Iterable[Contract],
                read: ApplicantRead | None = None) -> bool:
        events = list(events)
        return self._deliver([d], at, lambda _: events, read, alone=True) == 1

    def deliver_many(self, ds: list[Designation], at: datetime,
                     events_of: Callable[[Designation], list[Contract]], read: ApplicantRead | None = None) -> int:
        if not ds:
            return 0
        if len({d.applicant_id for d in ds}) > 1 or len({(d.program_code, d.season) for d in ds}) < len(ds) \
                or len(ds) > DELIVERIES_PER_TRANSACTION:
            return sum(self.deliver(d, at, events_of(d), read) for d in ds)  # not one applicant's distinct rows
        return self._deliver(ds, at, events_of, read, alone=len(ds) == 1)

    def _deliver(self, ds: list[Designation], at: datetime, events_of: Callable[[Designation], list[Contract]],
                 read: ApplicantRead | None, alone: bool) -> int:
        """One transaction: each designation marked delivered (only if not yet), its desk row
        written from the read, the application, record and facts checked unchanged since the
        read (a retry reads again), and the events. One of several delivered already: each is
        delivered on its own (how many were delivered now is returned)."""
        applicant_id = ds[0].applicant_id
        for attempt in range(DELIVERY_RETRIES):
            if read is None or attempt:
                read = self.applicant(applicant_id)
            facts, app, record = read.facts, read.application, read.record
            t = self._transaction()
            moved = SourcesMoved("what the program's list shows changed meanwhile", extra={"retry": True})
            for d in ds:
                t.update(DesignationItem(pk=f"applicant#{applicant_id}", sk=_designation_sk(d.round, d.program_code)),
                         actions=[DesignationItem.delivered_at.set(at),
                                  DesignationItem.gsi1pk.set(f"delivered#{d.season}#{d.program_code}"),
                                  DesignationItem.gsi1sk.set(f"{applicant_id}#{d.round}")],
                         condition=DesignationItem.pk.exists() & DesignationItem.delivered_at.does_not_exist(),
                         refusal=Conflict("delivered already"))
            if facts is not None:
                # the desk rows, from what was read: the application, record and results
                # unchanged at commit (each later change updates the rows in its own transaction)
                t.check(ApplicationItem, f"applicant#{applicant_id}", "application",
                        condition=(ApplicationItem.version == app.version) if app is not None
                        else ApplicationItem.pk.does_not_exist(), refusal=moved)
                self._check_record(t, applicant_id, record)
                t.check(FactsItem, f"applicant#{applicant_id}", "facts",
                        condition=facts_unchanged(facts), refusal=moved)
                for d in ds:
                    row = desk_row(d.program_code, d.season, applicant_id, d.round, at, facts, app, record)
                    t.update(desk_item(d.program_code, d.season, applicant_id), actions=_desk_actions(row))
            t.announce(_stream(applicant_id), [e for d in ds for e in events_of(d)])
            try:
                t.commit()
            except SourcesMoved:
                continue
            except Conflict as exc:
                if exc.extra.get("retry") and attempt < DELIVERY_RETRIES - 1:
                    continue
                if alone:
                    return 0
                return sum(self.deliver(d, at, events_of(d)) for d in ds)  # one was delivered already
            return len(ds)
        raise SourcesMoved("the application kept changing while it was being delivered; retry",
                           extra={"retry": True})

    def delivered_to(self, program_code: str, season: str) -> list[Designation]:
        return [_designation(i) for i in DesignationItem.gsi1.query(f"delivered#{season}#{program_code}")]

    # ---- what others announced
    def program(self, program_code: str, season: str) -> ProgramFacts | None:
        try:
            return _program(ProgramFactsItem.get(f"program#{program_code}", f"season#{season}"))
        except DoesNotExist:
            return None

    def calendar(self, season: str) -> Calendar:
        try:
            item = CalendarItem.get(f"season#{season}", "calendar")
        except DoesNotExist:
            item = None
        return _calendar(season, item)

    def programs_and_calendar(self, program_codes: Iterable[str], season: str
                              ) -> tuple[dict[str, ProgramFacts], Calendar]:
        wanted: dict[tuple[str, str], type] = {(f"season#{season}", "calendar"): CalendarItem}
        for code in program_codes:
            wanted[(f"program#{code}", f"season#{season}")] = ProgramFactsItem
        found = self._batch(wanted)
        cal = found.pop((f"season#{season}", "calendar"), None)
        return ({p.program_code: _program(p) for p in found.values()}, _calendar(season, cal))

    def latest_season(self, program_code: str) -> str | None:
        latest = list(ProgramFactsItem.query(f"program#{program_code}", ProgramFactsItem.sk.startswith("season#"),
                                             scan_index_forward=False, limit=1))
        return latest[0].sk.removeprefix("season#") if latest else None

    # ---- college records and results
    def college_record(self, applicant_id: str) -> CollegeRecord | None:
        try:
            item = CollegeRecordItem.get(f"applicant#{applicant_id}", "college_record", consistent_read=True)
        except DoesNotExist:
            return None
        return _record(item)

    def college_records_many(self, applicant_ids: list[str]) -> dict[str, CollegeRecord]:
        keys = [(f"applicant#{i}", "college_record") for i in dict.fromkeys(applicant_ids)]
        return {r.applicant_id: r for r in (_record(i) for i in CollegeRecordItem.batch_get(keys))}

    def save_college_record(self, record: CollegeRecord, read_version: int,
                            before: CollegeRecord | None = None,
                            designations: list[Designation] | None = None) -> None:
        """Versioned: a write over a record changed since it was read is a 409. The desk rows of
        the applicant's deliveries follow a change of the GPA or class rank in the same transaction."""
        item = CollegeRecordItem(
            pk=f"applicant#{record.applicant_id}", sk="college_record", applicant_id=record.applicant_id,
            college=record.college, gpa=record.gpa, class_rank=record.class_rank, class_size=record.class_size,
            clinicals=[ClinicalMap(site=c.site, specialty=c.specialty, weeks=c.weeks) for c in record.clinicals],
            documents=[DocumentMap(document_id=d.document_id, kind=d.kind, filename=d.filename, size=d.size,
                                   status=d.status, created_at=d.created_at, completed_at=d.completed_at)
                       for d in record.documents],
            updated_at=record.updated_at, version=read_version + 1)
        condition = (CollegeRecordItem.version == read_version) if read_version else \
            CollegeRecordItem.pk.does_not_exist()
        moved = Conflict("the college record changed meanwhile; reload and retry", rule="A2")
        t = self._transaction()
        t.put(item, condition=condition, refusal=moved)
        if before is None or record_shown(before) != record_shown(record):
            desk_sync(t, self.designations(record.applicant_id) if designations is None else designations,
                      record.applicant_id,
                      [_record_action(record.gpa, record.class_rank, record.class_size)], moved)
        t.commit()

    def results(self, applicant_id: str) -> list[dict]:
        items = ResultItem.query(f"applicant#{applicant_id}", ResultItem.sk.startswith("result#"))
        return list(_sorted_results(_result_row(i) for i in items))

    # ---- reviews
    def review(self, program_code: str, season: str, applicant_id: str) -> Review | None:
        try:
            return _review(DeskRowItem.get(_desk_pk(program_code, season), f"applicant#{applicant_id}",
                                           consistent_read=True))
        except DoesNotExist:
            return None

    def save_review(self, review: Review) -> None:
        D = DeskRowItem
        text = json.dumps({"tags": list(review.tags), "rating": review.rating, "review_status": review.review_status,
                           "notes": review.notes,
                           "updated_at": review.updated_at.isoformat() if review.updated_at else None})
        t = self._transaction()
        t.update(desk_item(review.program_code, review.season, review.applicant_id), actions=[D.review.set(text)],
                 condition=D.who.exists(),
                 refusal=NotFound(f"no application of {review.applicant_id} delivered to program {review.program_code}"))
        t.commit()

    def desk(self, program_code: str, season: str) -> list[DeskRow]:
        return [_desk_row(i) for i in DeskRowItem.query(_desk_pk(program_code, season), consistent_read=True)]


def facts_unchanged(facts: ApplicantFacts):
    """What a desk row shows of the facts item (the exam attempts, the name and college) is still
    what was read: each is versioned, and each later change updates the rows delivered by then."""
    results = (FactsItem.results_version == facts.results_version) if facts.results_version \
        else FactsItem.results_version.does_not_exist()
    profile = (FactsItem.profile_version == facts.profile_version) if facts.profile_version \
        else FactsItem.profile_version.does_not_exist()
    return results & profile


def who_renamed(who: str, first_name: str, last_name: str, college: str | None) -> str:
    """A desk row's `who` with the applicant's name (and college) as now; round, Code Number and
    delivery instant stay."""
    data = json.loads(who or "{}")
    data.update({"first_name": first_name, "last_name": last_name, **({"college": college} if college else {})})
    return json.dumps(data)


def not_registered(applicant_id: str) -> NotFound:
    return NotFound(f"no registered applicant {applicant_id} (an application starts once the registration fee "
                    "is paid)")


def require_facts(store: ApplicationStore, applicant_id: str) -> ApplicantFacts:
    facts = store.facts(applicant_id)
    if facts is None:
        raise not_registered(applicant_id)
    return facts
