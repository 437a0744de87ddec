"""The scores service's repository on DynamoDB: returns domain objects; state changes go
through shared.adapters.outbox.Transaction (state + outbox in one TransactWriteItems)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from scores.adapters.models import (
    ApplicantItem,
    CalendarItem,
    CspeItem,
    NoticeItem,
    ReleaseItem,
    ResultItem,
    SelfReportItem,
    UniqueItem,
    UnmatchedItem,
    UploadItem,
)
from scores.domain.applicants import Registrant
from scores.domain.cspe import CspeRule
from scores.domain.release import Release
from scores.domain.results import Attempt, Row
from scores.domain.self_reported import PENDING, SelfReport
from shared.adapters.outbox import Transaction, shared_connection
from shared.clock import parse_instant
from shared.errors import Conflict, FieldError


def _conditional_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _registrant(i: ApplicantItem) -> Registrant:
    return Registrant(applicant_id=i.applicant_id, season=i.season, owner_sub=i.owner_sub, cms_id=i.cms_id,
                      email=i.email, first_name=i.first_name, last_name=i.last_name,
                      graduation_year=int(i.graduation_year) if i.graduation_year is not None else None,
                      status=i.status)


def _release(i: ReleaseItem) -> Release:
    return Release(applicant_id=i.applicant_id, season=i.season, att_number=i.att_number, cms_id=i.cms_id,
                   name_at_exam=i.name_at_exam, explanation=i.explanation or "", authorize_part1=i.authorize_part1,
                   authorize_part2=i.authorize_part2, released_at=i.released_at, updated_at=i.updated_at,
                   on_time=i.on_time, version=int(i.version))


def _attempt(i: ResultItem) -> Attempt:
    return Attempt(result_id=i.result_id, applicant_id=i.applicant_id, season=i.season, exam=i.exam,
                   exam_date=date.fromisoformat(i.exam_date), result=i.result, official=i.official,
                   recorded_at=i.recorded_at, source=i.source, att_number=i.att_number, cms_id=i.cms_id)


def _applicant_key(applicant_id: str) -> str:
    return f"applicant#{applicant_id}"


class ScoresStore:
    # ------------------------------------------------------------------ the applicants (projection)
    def project_registered(self, r: Registrant, version: int | None) -> None:
        """The profile is set whatever the order of arrival; the status only when newer. One
        UpdateItem (profile and status, conditioned on the version) unless a newer status is
        stored already: then a second one sets the profile alone."""
        profile = [ApplicantItem.owner_sub.set(r.owner_sub), ApplicantItem.cms_id.set(r.cms_id),
                   ApplicantItem.email.set(r.email), ApplicantItem.first_name.set(r.first_name),
                   ApplicantItem.last_name.set(r.last_name), ApplicantItem.graduation_year.set(r.graduation_year)]
        if not self.project_status(r.season, r.applicant_id, r.status or "registered", version, also=profile):
            ApplicantItem(pk=_applicant_key(r.applicant_id), sk="applicant").update(actions=[
                *profile, *self._membership(r.season, r.applicant_id)])

    @staticmethod
    def _membership(season: str, applicant_id: str) -> list:
        return [ApplicantItem.applicant_id.set(applicant_id), ApplicantItem.season.set(season),
                ApplicantItem.gsi1pk.set(f"season#{season}#applicants"), ApplicantItem.gsi1sk.set(applicant_id)]

    def project_status(self, season: str, applicant_id: str, status: str, version: int | None,
                       also: Sequence = ()) -> bool:
        """The status (with `also`'s actions) when `version` is newer than the stored one; False
        (nothing written) for an older event, delivered late."""
        item = ApplicantItem(pk=_applicant_key(applicant_id), sk="applicant")
        actions = [ApplicantItem.status.set(status), *self._membership(season, applicant_id), *also]
        condition = None
        if version is not None:
            actions.append(ApplicantItem.version.set(version))
            condition = ApplicantItem.version.does_not_exist() | (ApplicantItem.version < version)
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _conditional_failure(exc):
                return False  # an older event, delivered late
            raise
        return True

    def registrant(self, applicant_id: str) -> Registrant | None:
        try:
            return _registrant(ApplicantItem.get(_applicant_key(applicant_id), "applicant", consistent_read=True))
        except DoesNotExist:
            return None

    def registrants(self, season: str) -> list[Registrant]:
        return [_registrant(i) for i in ApplicantItem.gsi1.query(f"season#{season}#applicants")]

    # ------------------------------------------------------------------ the calendar (projection)
    def put_calendar(self, season: str, calendar: dict[str, datetime], version: int | None) -> bool:
        item = CalendarItem(pk=f"season#{season}", sk="calendar")
        actions = [CalendarItem.season.set(season), CalendarItem.gsi1pk.set("calendars"),
                   CalendarItem.gsi1sk.set(season),
                   CalendarItem.calendar.set({k: v.isoformat() for k, v in calendar.items()})]
        condition = None
        if version is not None:
            actions.append(CalendarItem.version.set(version))
            condition = CalendarItem.version.does_not_exist() | (CalendarItem.version < version)
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if _conditional_failure(exc):
                return False
            raise
        return True

    @staticmethod
    def _instants(item: CalendarItem) -> dict[str, datetime]:
        return {k: parse_instant(v) for k, v in item.calendar.as_dict().items()}

    def calendar(self, season: str) -> dict[str, datetime]:
        try:
            return self._instants(CalendarItem.get(f"season#{season}", "calendar"))
        except DoesNotExist:
            return {}

    def calendars(self) -> dict[str, dict[str, datetime]]:
        return {i.season: self._instants(i) for i in CalendarItem.gsi1.query("calendars")}

    # ------------------------------------------------------------------ releases (S1, S2)
    def release(self, applicant_id: str) -> Release | None:
        try:
            return _release(ReleaseItem.get(_applicant_key(applicant_id), "release", consistent_read=True))
        except DoesNotExist:
            return None

    def registrant_and_release(self, applicant_id: str) -> tuple[Registrant | None, Release | None]:
        """Both items of the applicant in ONE consistent BatchGetItem (a use case that needs both)."""
        found = _get_many([(ApplicantItem, _applicant_key(applicant_id), "applicant"),
                           (ReleaseItem, _applicant_key(applicant_id), "release")])
        return ((_registrant(found[0]) if found[0] is not None else None),
                (_release(found[1]) if found[1] is not None else None))

    def releases(self, season: str) -> dict[str, Release]:
        """The season's releases by ATT number."""
        return {i.att_number: _release(i) for i in ReleaseItem.gsi1.query(f"season#{season}#releases")}

    def save_release(self, t: Transaction, new: Release, previous: Release | None) -> Release:
        """Versioned: refused (409) when the release changed since it was read; one ATT number
        belongs to one applicant of a season (409)."""
        stored = replace(new, version=(previous.version if previous else 0) + 1)
        item = ReleaseItem(
            pk=_applicant_key(new.applicant_id), sk="release", applicant_id=new.applicant_id, season=new.season,
            att_number=new.att_number, cms_id=new.cms_id, name_at_exam=new.name_at_exam,
            explanation=new.explanation, authorize_part1=new.authorize_part1, authorize_part2=new.authorize_part2,
            released_at=new.released_at, updated_at=new.updated_at, on_time=new.on_time, version=stored.version,
            gsi1pk=f"season#{new.season}#releases", gsi1sk=f"{new.att_number}#{new.applicant_id}")
        condition = (ReleaseItem.pk.does_not_exist() if previous is None
                     else ReleaseItem.version == previous.version)
        t.put(item, condition=condition,
              refusal=Conflict("the score release changed meanwhile; reload it and send it again"))
        if previous is None or previous.att_number != new.att_number:
            t.put(UniqueItem(pk=f"season#{new.season}#att#{new.att_number}", sk="unique",
                             applicant_id=new.applicant_id),
                  condition=UniqueItem.pk.does_not_exist() | (UniqueItem.applicant_id == new.applicant_id),
                  refusal=Conflict(f"the ATT number {new.att_number} is already in another applicant's score "
                                   "release of this season; each student has a unique ATT number (S1)", rule="S1",
                                   errors=[FieldError("att_number", "already released by another applicant")]))
            if previous is not None:
                t.delete(UniqueItem(pk=f"season#{new.season}#att#{previous.att_number}", sk="unique"),
                         condition=UniqueItem.applicant_id == new.applicant_id)
        return stored

    # ------------------------------------------------------------------ attempts (S3, S6, S7)
    def attempts(self, applicant_id: str) -> list[Attempt]:
        found = ResultItem.query(_applicant_key(applicant_id), ResultItem.sk.startswith("result#"),
                                 consistent_read=True)
        return sorted((_attempt(i) for i in found), key=lambda a: (a.exam_date, a.exam, a.result_id))

    def season_attempts(self, season: str) -> dict[str, list[Attempt]]:
        out: dict[str, list[Attempt]] = {}
        for i in ResultItem.gsi1.query(f"season#{season}#results"):
            out.setdefault(i.applicant_id, []).append(_attempt(i))
        return out

    def add_attempt(self, t: Transaction, a: Attempt) -> None:
        """A fact: its id is its content's hash, so writing it twice leaves one attempt."""
        t.put(ResultItem(pk=_applicant_key(a.applicant_id), sk=f"result#{a.result_id}", result_id=a.result_id,
                         applicant_id=a.applicant_id, season=a.season, exam=a.exam,
                         exam_date=a.exam_date.isoformat(), result=a.result, official=a.official, source=a.source,
                         recorded_at=a.recorded_at, att_number=a.att_number, cms_id=a.cms_id,
                         gsi1pk=f"season#{a.season}#results", gsi1sk=a.result_id))

    def remove_attempt(self, t: Transaction, applicant_id: str, result_id: str) -> None:
        t.delete(ResultItem(pk=_applicant_key(applicant_id), sk=f"result#{result_id}"))

    # ------------------------------------------------------------------ self-reported results (S7)
    def self_report(self, report_id: str) -> SelfReport | None:
        try:
            i = SelfReportItem.get(f"self_reported#{report_id}", "self_reported", consistent_read=True)
        except DoesNotExist:
            return None
        return SelfReport(report_id=i.report_id, applicant_id=i.applicant_id, season=i.season, exam=i.exam,
                          exam_date=date.fromisoformat(i.exam_date), result=i.result, status=i.status,
                          pdf_key=i.pdf_key, created_at=i.created_at, decided_at=i.decided_at, version=int(i.version))

    def save_self_report(self, t: Transaction, new: SelfReport, previous: SelfReport | None) -> SelfReport:
        stored = replace(new, version=(previous.version if previous else 0) + 1)
        pending = new.status == PENDING
        t.put(SelfReportItem(
            pk=f"self_reported#{new.report_id}", sk="self_reported", report_id=new.report_id,
            applicant_id=new.applicant_id, season=new.season, exam=new.exam, exam_date=new.exam_date.isoformat(),
            result=new.result, status=new.status, pdf_key=new.pdf_key, created_at=new.created_at,
            decided_at=new.decided_at, version=stored.version,
            gsi1pk="self_reported#pending" if pending else None,
            gsi1sk=f"{new.created_at.isoformat()}#{new.report_id}" if pending else None),
            condition=(SelfReportItem.pk.does_not_exist() if previous is None
                       else SelfReportItem.version == previous.version),
            refusal=Conflict("the self-reported result changed meanwhile; reload it and decide again"))
        return stored

    def pending_self_reports(self) -> list[SelfReport]:
        return [r for r in (self.self_report(i.report_id) for i in SelfReportItem.gsi1.query("self_reported#pending"))
                if r is not None]

    # ------------------------------------------------------------------ unmatched rows (S3)
    def unmatched(self, season: str, att: str | None = None) -> list[tuple[Row, str]]:
        items = (UnmatchedItem.query(f"season#{season}#unmatched#{att}", consistent_read=True) if att
                 else UnmatchedItem.gsi1.query(f"season#{season}#unmatched"))
        return [(Row(int(i.row), i.att_number, i.cms_id, i.exam, date.fromisoformat(i.exam_date), i.result,
                     i.row_id), i.reason) for i in items]

    def keep_unmatched(self, season: str, upload_id: str, rows: list[tuple[Row, str]]) -> None:
        with UnmatchedItem.batch_write() as batch:
            for row, reason in rows:
                batch.save(UnmatchedItem(
                    pk=f"season#{season}#unmatched#{row.att_number}", sk=f"row#{row.row_id}", row_id=row.row_id,
                    season=season, att_number=row.att_number, cms_id=row.cms_id, exam=row.exam,
                    exam_date=row.exam_date.isoformat(), result=row.result, reason=reason, upload_id=upload_id,
                    row=row.row, gsi1pk=f"season#{season}#unmatched", gsi1sk=row.row_id))

    def forget_unmatched(self, t: Transaction, season: str, row: Row) -> None:
        t.delete(UnmatchedItem(pk=f"season#{season}#unmatched#{row.att_number}", sk=f"row#{row.row_id}"))

    def record_upload(self, season: str, upload_id: str, by: str, at: datetime, summary: dict) -> None:
        UploadItem(pk=f"season#{season}#uploads", sk=f"upload#{upload_id}", upload_id=upload_id, season=season,
                   uploaded_by=by, at=at, **summary).save()

    # ------------------------------------------------------------------ the CSPE table (S4)
    def cspe_rules(self, season: str) -> tuple[list[CspeRule], int]:
        try:
            item = CspeItem.get(f"season#{season}", "cspe-rules", consistent_read=True)
        except DoesNotExist:
            return [], 0
        return [CspeRule(**r) for r in json.loads(item.rules)], int(item.version)

    def put_cspe_rules(self, t: Transaction, season: str, rules: list[CspeRule], version: int, now: datetime) -> int:
        item = CspeItem(pk=f"season#{season}", sk="cspe-rules", season=season, updated_at=now, version=version + 1,
                        rules=json.dumps([{"class_from": r.class_from, "class_to": r.class_to, "cspe": r.cspe}
                                          for r in rules]))
        t.put(item, condition=CspeItem.pk.does_not_exist() if version == 0 else CspeItem.version == version,
              refusal=Conflict("the CSPE table changed meanwhile; reload it and send it again"))
        return version + 1

    # ------------------------------------------------------------------ notices (once each)
    def notice_once(self, t: Transaction, key: str, kind: str, at: datetime, refusal) -> None:
        t.put(NoticeItem(pk=key, sk=f"notice#{kind}", kind=kind, at=at), condition=NoticeItem.pk.does_not_exist(),
              refusal=refusal)

    def noticed(self, key: str, kind: str) -> bool:
        try:
            NoticeItem.get(key, f"notice#{kind}", consistent_read=True)
        except DoesNotExist:
            return False
        return True


def _get_many(keys: list[tuple[type, str, str]]) -> list:
    """Items of the service's table (models of one table, any class) in one consistent
    BatchGetItem (more while DynamoDB leaves keys unprocessed), in the order asked; None for
    an item that does not exist."""
    table, region = keys[0][0].Meta.table_name, keys[0][0].Meta.region
    client = shared_connection(region).client
    wanted = {(pk, sk): model for model, pk, sk in keys}
    found: dict[tuple[str, str], object] = {}
    request = {table: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in wanted], "ConsistentRead": True}}
    while request:
        response = client.batch_get_item(RequestItems=request)
        for raw in response.get("Responses", {}).get(table, []):
            key = (raw["pk"]["S"], raw["sk"]["S"])
            found[key] = wanted[key].from_raw_data(raw)
        request = response.get("UnprocessedKeys") or None
    return [found.get((pk, sk)) for _, pk, sk in keys]


def applicant_key(applicant_id: str) -> str:
    return _applicant_key(applicant_id)

