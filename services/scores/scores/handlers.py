"""Use cases of the scores service (S1-S7). Each checks who may act, applies the domain
rules and commits state and announcements together (shared.adapters.outbox.Transaction)."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scores.adapters.store import applicant_key
from scores.bootstrap import Scores
from scores.domain import release as release_rules
from scores.domain import self_reported
from scores.domain.applicants import REGISTERED, WITHDRAWN, Registrant
from scores.domain.cspe import CspeRule, check_rules
from scores.domain.eligibility import CASPR, MATCH, Eligibility, eligibility, withdrawal_due
from scores.domain.release import Release
from scores.domain.results import PART1, VISIBLE_FROM_KEY, Attempt, Row, match, parse_csv, passed
from scores.domain.self_reported import SelfReport
from shared.adapters.outbox import MAX_TRANSACTION_ITEMS, Transaction
from shared.auth import Principal
from shared.contracts import (
    ApplicantRegistered,
    ApplicantReinstated,
    ApplicantWithdrawn,
    Contract,
    ScoresMayApply,
    ScoresReleased,
    ScoresReleaseMissing,
    ScoresResultRecorded,
    ScoresWithdrawalDue,
    SeasonCalendarSet,
    SeasonDeadlineReached,
)
from shared.email import Email
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed

SERVICE = "scores"
SEASON_ID = re.compile(r"^[0-9]{4}\Z")
PATH_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
RELEASE_DEADLINE = "score_release_deadline"


# ----------------------------------------------------------------------------- plumbing
def check_season(season: str) -> str:
    if not SEASON_ID.match(season or ""):
        raise ValidationFailed(f"the season {season[:20]!r} is not a season id",
                               errors=[FieldError("season", "four ASCII digits, e.g. 2024")])
    return season


def check_id(value: str, field: str) -> str:
    """Ids in paths: 1-64 letters, digits, '-' or '_' (never a 500 for a key DynamoDB refuses)."""
    if not PATH_ID.match(value or ""):
        raise ValidationFailed(f"the {field} in the path is not an id",
                               errors=[FieldError(field, "1-64 letters, digits, '-' or '_'")])
    return value


def _owned(svc: Scores, principal: Principal, applicant_id: str, r: Registrant | None = None) -> Registrant:
    """An applicant reaches only their own scores (owned by their account's sub or, when an
    administrator registered them, by the account with the registration's email, as
    registration decides); administrators anyone's. `r`: the registrant read already."""
    check_id(applicant_id, "applicant_id")
    r = r or svc.store.registrant(applicant_id)
    if r is None:
        raise NotFound(f"no registered applicant {applicant_id[:64]} is known to the scores service (the score "
                       "release opens once the registration fee is paid)")
    if principal.is_admin:
        return r
    own = r.owner_sub == principal.sub if r.owner_sub is not None else (
        bool(r.email) and principal.username.strip().lower() == r.email.strip().lower())
    if principal.role != "applicant" or not own:
        raise Forbidden("you may only access your own score release and results")
    return r


def _transaction(svc: Scores, now: datetime) -> Transaction:
    """A unit of work on the service's one DynamoDB connection (a client per transaction costs
    more than the transaction)."""
    return Transaction(SERVICE, now, connection=svc.connection)


def _stream(applicant_id: str) -> str:
    return f"applicant#{applicant_id}"


# ----------------------------------------------------------------------------- projections (consumer)
def on_applicant_registered(svc: Scores, e: ApplicantRegistered) -> None:
    r = Registrant(applicant_id=e.applicant_id, season=e.season, owner_sub=e.owner_sub, cms_id=e.cms_id,
                   email=e.email, first_name=e.first_name, last_name=e.last_name,
                   graduation_year=e.graduation_year, status=REGISTERED)
    svc.store.project_registered(r, e.version)
    # S2: registered after score_release_deadline without a release: told at once, like the others were
    deadline = svc.store.calendar(e.season).get(RELEASE_DEADLINE)
    if deadline is not None and svc.clock.now() >= deadline and svc.store.release(e.applicant_id) is None:
        _release_missing_notice(svc, r, e.season, deadline)


def on_applicant_withdrawn(svc: Scores, e: ApplicantWithdrawn) -> None:
    svc.store.project_status(e.season, e.applicant_id, WITHDRAWN, e.version)


def on_applicant_reinstated(svc: Scores, e: ApplicantReinstated) -> None:
    svc.store.project_status(e.season, e.applicant_id, REGISTERED, e.version)


def on_calendar_set(svc: Scores, e: SeasonCalendarSet) -> None:
    svc.store.put_calendar(e.season, dict(e.calendar), e.version)


# ----------------------------------------------------------------------------- the release (S1, S2)
def get_release(svc: Scores, principal: Principal, applicant_id: str) -> Release:
    _owned(svc, principal, applicant_id)
    found = svc.store.release(applicant_id)
    if found is None:
        raise NotFound(f"applicant {applicant_id} has not released their scores yet (S1)")
    return found


def put_release(svc: Scores, principal: Principal, applicant_id: str, form: dict) -> Release:
    check_id(applicant_id, "applicant_id")
    registrant, previous = svc.store.registrant_and_release(applicant_id)  # one read for both
    r = _owned(svc, principal, applicant_id, registrant)
    checked = release_rules.check_form(**form)
    now = svc.clock.now()
    deadline = svc.store.calendar(r.season).get(RELEASE_DEADLINE)
    new = release_rules.release(previous, applicant_id=applicant_id, season=r.season, form=checked, now=now,
                                deadline=deadline)
    t = _transaction(svc, now)
    stored = svc.store.save_release(t, new, previous)
    t.announce(_stream(applicant_id), [ScoresReleased(
        season=r.season, applicant_id=applicant_id, att_number=stored.att_number, cms_id=stored.cms_id,
        explanation=stored.explanation, released_at=stored.released_at, on_time=stored.on_time,
        version=stored.version)])
    t.commit()
    match_kept_rows(svc, stored)
    return stored


def match_kept_rows(svc: Scores, rel: Release) -> int:
    """S3: NBPME rows kept unmatched are recorded when a release arriving later matches them."""
    kept = svc.store.unmatched(rel.season, rel.att_number)
    found = [row for row, _reason in kept if match(row.att_number, row.cms_id, rel.cms_id) is None]
    if not found:
        return 0
    now = svc.clock.now()
    attempts = [(_attempt_of(row, rel.applicant_id, rel.season, now), row) for row in found]
    _record(svc, rel.season, attempts, {rel.applicant_id: svc.store.attempts(rel.applicant_id)}, now)
    return len(found)


# ----------------------------------------------------------------------------- results (S3, S6)
def _attempt_of(row: Row, applicant_id: str, season: str, now: datetime) -> Attempt:
    return Attempt(result_id=row.row_id, applicant_id=applicant_id, season=season, exam=row.exam,
                   exam_date=row.exam_date, result=row.result, official=True, recorded_at=now, source="nbpme",
                   att_number=row.att_number, cms_id=row.cms_id)


def _recorded_event(a: Attempt, calendar: dict[str, datetime]) -> ScoresResultRecorded:
    return ScoresResultRecorded(season=a.season, applicant_id=a.applicant_id, result_id=a.result_id, exam=a.exam,
                                exam_date=a.exam_date, result=a.result, official=a.official,
                                visible_from=calendar.get(VISIBLE_FROM_KEY[a.exam]), source=a.source)


def _record(svc: Scores, season: str, attempts: list[tuple[Attempt, Row | None]],
            existing: dict[str, list[Attempt]], now: datetime) -> int:
    """Writes attempts (facts: idempotent ids) with their events, several applicants per
    transaction, at most MAX_TRANSACTION_ITEMS items each. A first Part I pass also announces
    scores.may_apply.v1 (A3). A row kept unmatched before is forgotten in the same transaction."""
    calendar = svc.store.calendar(season)
    by_applicant: dict[str, list[tuple[Attempt, Row | None]]] = defaultdict(list)
    for a, row in attempts:
        by_applicant[a.applicant_id].append((a, row))
    t, size, written = _transaction(svc, now), 0, 0
    batch: list[Transaction] = []
    for applicant_id, items in by_applicant.items():
        had_part1 = passed(existing.get(applicant_id, []), PART1)
        for a, row in items:
            events: list[Contract] = [_recorded_event(a, calendar)]
            if not had_part1 and a.exam == PART1 and a.result == "pass" and a.official:
                events.append(ScoresMayApply(season=season, applicant_id=applicant_id, result_id=a.result_id))
                had_part1 = True
            cost = 1 + len(events) + (1 if row is not None else 0)
            if size + cost > MAX_TRANSACTION_ITEMS:
                batch.append(t)
                t, size = _transaction(svc, now), 0
            svc.store.add_attempt(t, a)
            if row is not None:
                svc.store.forget_unmatched(t, season, row)
            t.announce(_stream(applicant_id), events)
            size += cost
            written += 1
    if size:
        batch.append(t)
    if len(batch) <= 1 or svc.commit_workers <= 1:
        for each in batch:
            each.commit()
    else:  # independent facts: committed side by side (an upload of 10,000 rows is ~200 transactions)
        with ThreadPoolExecutor(max_workers=svc.commit_workers) as pool:
            list(pool.map(Transaction.commit, batch))
    return written


@dataclass
class UploadSummary:
    upload_id: str
    rows: int
    recorded: int = 0
    duplicates: int = 0
    unmatched: list[dict] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)


def upload_results(svc: Scores, principal: Principal, season: str, body: bytes | str | None) -> UploadSummary:
    """S3: an NBPME CSV. The file is refused whole when it is not CSV with the header; each bad
    row is reported; the rows of released ATT numbers are recorded (every attempt kept, a row
    seen before counted as a duplicate), the others kept unmatched with the reason."""
    check_season(season)
    rows, invalid, count = parse_csv(season, body)
    now = svc.clock.now()
    summary = UploadSummary(upload_id=str(uuid.uuid4()), rows=count,
                            invalid=[{"row": i.row, "field": i.field, "message": i.message} for i in invalid])
    releases = svc.store.releases(season)
    existing = svc.store.season_attempts(season)
    seen = {a.result_id for attempts in existing.values() for a in attempts}
    kept_before = {row.row_id for row, _ in svc.store.unmatched(season)}
    to_record: list[tuple[Attempt, Row | None]] = []
    to_keep: list[tuple[Row, str]] = []
    for row in rows:
        if row.row_id in seen:
            summary.duplicates += 1
            continue
        seen.add(row.row_id)
        rel = releases.get(row.att_number)
        reason = match(row.att_number, row.cms_id, rel.cms_id if rel else None)
        if reason is None:
            to_record.append((_attempt_of(row, rel.applicant_id, season, now),
                              row if row.row_id in kept_before else None))
        else:
            to_keep.append((row, reason))
            summary.unmatched.append({"row": row.row, "att_number": row.att_number, "cms_id": row.cms_id,
                                      "reason": reason})
    if to_keep:
        svc.store.keep_unmatched(season, summary.upload_id, to_keep)
        # a release committed while this upload ran did not see these rows: match them now (S3)
        kept_atts = {row.att_number for row, _ in to_keep}
        for att, rel in svc.store.releases(season).items():
            if att in kept_atts and att not in releases:
                match_kept_rows(svc, rel)
    summary.recorded = _record(svc, season, to_record, existing, now)
    svc.store.record_upload(season, summary.upload_id, principal.sub, now, {
        "rows": summary.rows, "recorded": summary.recorded, "duplicates": summary.duplicates,
        "unmatched": len(summary.unmatched), "invalid": len(summary.invalid)})
    return summary


def unmatched_rows(svc: Scores, season: str) -> list[tuple[Row, str]]:
    return sorted(svc.store.unmatched(check_season(season)), key=lambda p: (p[0].att_number, p[0].exam_date))


def results(svc: Scores, principal: Principal, applicant_id: str) -> list[Attempt]:
    _owned(svc, principal, applicant_id)
    return svc.store.attempts(applicant_id)


# ----------------------------------------------------------------------------- CSPE and eligibility (S4, A3)
def get_cspe_rules(svc: Scores, season: str) -> tuple[list[CspeRule], int]:
    return svc.store.cspe_rules(check_season(season))


def put_cspe_rules(svc: Scores, season: str, raw: list[dict]) -> tuple[list[CspeRule], int]:
    check_season(season)
    rules = check_rules([CspeRule(r["class_from"], r["class_to"], r["cspe"]) for r in raw])
    _, version = svc.store.cspe_rules(season)
    t = _transaction(svc, svc.clock.now())
    new_version = svc.store.put_cspe_rules(t, season, rules, version, svc.clock.now())
    t.commit()
    return rules, new_version


def applicant_eligibility(svc: Scores, principal: Principal, applicant_id: str) -> Eligibility:
    r = _owned(svc, principal, applicant_id)
    rules, _ = svc.store.cspe_rules(r.season)
    return eligibility(svc.store.attempts(applicant_id), rules, r.graduation_year)


# ----------------------------------------------------------------------------- on schedule (S2, S5)
def record_deadline(svc: Scores, event: SeasonDeadlineReached) -> None:
    svc.deadlines.record(event.season, event.key, event.at)
    if event.key == RELEASE_DEADLINE:
        release_missing(svc, event.season, event.at)
    elif event.key == "part1_pass_by":
        withdraw_for_scores(svc, event.season, CASPR, event.key, event.at)
    elif event.key == "part2_pass_by":
        withdraw_for_scores(svc, event.season, MATCH, event.key, event.at)


def _without_release(svc: Scores, season: str) -> list[Registrant]:
    released = {r.applicant_id for r in svc.store.releases(season).values()}
    return [r for r in svc.store.registrants(season) if r.registered and r.applicant_id not in released]


def _once(svc: Scores, r: Registrant, kind: str, events: Iterable[Contract], emails: Iterable[Email]) -> bool:
    """One notice per applicant and kind, whatever redelivers the trigger."""
    t = _transaction(svc, svc.clock.now())
    svc.store.notice_once(t, applicant_key(r.applicant_id), kind, svc.clock.now(), refusal=Conflict("sent before"))
    t.announce(_stream(r.applicant_id), events, [e for e in emails if e.to])
    try:
        t.commit()
    except Conflict:
        return False
    return True


def release_missing(svc: Scores, season: str, deadline: datetime) -> int:
    """S2: at score_release_deadline each registered applicant without a release is told, and an
    event says their application may not be marked complete."""
    return sum(_release_missing_notice(svc, r, season, deadline) for r in _without_release(svc, season))


def _release_missing_notice(svc: Scores, r: Registrant, season: str, deadline: datetime) -> bool:
    return _once(svc, r, f"release_missing#{season}", [
        ScoresReleaseMissing(season=season, applicant_id=r.applicant_id, deadline=deadline)],
        [Email(to=r.email or "", subject=f"CASPR {season}: your APMLE score release is missing", body=(
            f"Dear {r.name},\n\nthe score release deadline of the {season} CASPR season has passed and you have "
            "not released your APMLE scores. Without the release your application may not be marked "
            "complete (S2). Please complete the score release form as soon as possible: we need it to request "
            "your results from the NBPME.\n\nCASPR\n"))])


def send_reminders(svc: Scores) -> int:
    """S2: reminder_days before score_release_deadline, every registered applicant of the season
    without a release gets a reminder (run by a scheduled function; once per season)."""
    now, sent = svc.clock.now(), 0
    for season, calendar in svc.store.calendars().items():
        deadline = calendar.get(RELEASE_DEADLINE)
        if deadline is None or not (deadline - timedelta(days=svc.reminder_days) <= now < deadline):
            continue
        marker = f"release_reminder#{deadline.isoformat()}"
        if svc.store.noticed(f"season#{season}", marker):
            continue
        for r in _without_release(svc, season):
            sent += _once(svc, r, marker, [], [Email(
                to=r.email or "", subject=f"CASPR {season}: release your APMLE scores by {deadline:%Y-%m-%d}",
                body=(f"Dear {r.name},\n\nyou have not released your APMLE scores yet. The release is due by "
                      f"{deadline.isoformat()} (UTC) (S2): without it your application may not be marked complete. "
                      "Complete the score release form in CASPR.\n\nCASPR\n"))])
        t = _transaction(svc, now)
        svc.store.notice_once(t, f"season#{season}", marker, now, refusal=Conflict("sent before"))
        try:
            t.commit()
        except Conflict:
            pass
    return sent


def withdraw_for_scores(svc: Scores, season: str, scope: str, key: str, at: datetime) -> int:
    """S5: every registered applicant without the needed pass is withdrawn (from CASPR at
    part1_pass_by, from the Match at part2_pass_by): an event registration acts on, and an email."""
    rules, _ = svc.store.cspe_rules(season)
    attempts = svc.store.season_attempts(season)
    withdrawn = 0
    for r in svc.store.registrants(season):
        if not r.registered:
            continue
        reason = withdrawal_due(scope, eligibility(attempts.get(r.applicant_id, []), rules, r.graduation_year))
        if reason is None:
            continue
        what = "the CASPR process" if scope == CASPR else "the CASPR Match"
        withdrawn += _once(svc, r, f"withdrawal#{season}#{scope}", [ScoresWithdrawalDue(
            season=season, applicant_id=r.applicant_id, scope=scope, rule="S5", reason=reason, deadline_key=key,
            at=at)], [Email(to=r.email or "", subject=f"CASPR {season}: you are withdrawn from {what}", body=(
                f"Dear {r.name},\n\n{reason}. No passing result was recorded for you by {at.isoformat()} (UTC), so "
                f"you are automatically withdrawn from {what} (S5). If you believe a result is missing, contact "
                "CASPR.\n\nCASPR\n"))])
    return withdrawn


# ----------------------------------------------------------------------------- self-reported (S7)
def self_report(svc: Scores, principal: Principal, applicant_id: str, exam: str, exam_date, result: str
                ) -> tuple[SelfReport, dict]:
    """S7: a previous graduate reports a Part II result; it is listed with official: false
    and the PDF score report goes to the presigned form returned. Nothing reaches programs
    until an administrator verifies it."""
    r = _owned(svc, principal, applicant_id)
    self_reported.check_previous_graduate(r.graduation_year, r.season)
    now = svc.clock.now()
    self_reported.check_report(exam, exam_date, result, now.date())
    report_id = str(uuid.uuid4())
    report = SelfReport(report_id=report_id, applicant_id=applicant_id, season=r.season, exam=exam,
                        exam_date=exam_date, result=result, status=self_reported.PENDING,
                        pdf_key=f"scores/self-reported/{applicant_id}/{report_id}.pdf", created_at=now)
    t = _transaction(svc, now)
    stored = svc.store.save_self_report(t, report, None)
    svc.store.add_attempt(t, _self_attempt(stored, official=False, now=now))
    t.commit()
    return stored, svc.reports.upload_form(stored.pdf_key, self_reported.MAX_PDF_BYTES)


def _self_attempt(report: SelfReport, official: bool, now: datetime) -> Attempt:
    return Attempt(result_id=report.report_id, applicant_id=report.applicant_id, season=report.season,
                   exam=report.exam, exam_date=report.exam_date, result=report.result, official=official,
                   recorded_at=now, source="self_reported")


def verify_self_report(svc: Scores, principal: Principal, report_id: str, verified: bool) -> SelfReport:
    """S7: an administrator verifies (the attempt becomes official and is announced) or rejects
    (the attempt is removed) a self-reported result; verifying needs the PDF, checked by its bytes."""
    report = svc.store.self_report(check_id(report_id, "report_id"))
    if report is None:
        raise NotFound(f"no self-reported result {report_id[:64]}")
    if verified:
        self_reported.check_pdf(*svc.reports.inspect(report.pdf_key))
    now = svc.clock.now()
    decided = self_reported.decide(report, verified, now)
    t = _transaction(svc, now)
    stored = svc.store.save_self_report(t, decided, report)
    if verified:
        attempt = _self_attempt(stored, official=True, now=now)
        svc.store.add_attempt(t, attempt)
        t.announce(_stream(report.applicant_id), [_recorded_event(attempt, svc.store.calendar(report.season))])
    else:
        svc.store.remove_attempt(t, report.applicant_id, report.report_id)
    t.commit()
    return stored


def pending_self_reports(svc: Scores) -> list[SelfReport]:
    return svc.store.pending_self_reports()
