"""What the applications service keeps of other services' events (its projection), written
by its consumers. Each write is idempotent and ignores an older version arriving late (SQS
redelivers and does not order)."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import UpdateError

from applications.adapters.models import CalendarItem, DeskRowItem, FactsItem, ProgramFactsItem, ResultItem
from applications.adapters.store import (
    SERVICE,
    DynamoApplicationStore,
    SourcesMoved,
    desk_item,
    desk_sync,
    results_json,
    who_renamed,
)
from shared.adapters.outbox import Transaction
from shared.clock import iso
from shared.errors import Conflict

RESULT_RETRIES = 8
PROFILE_RETRIES = 8


def _condition_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _update(item, actions, condition=None) -> bool:
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if _condition_failed(exc):
            return False  # an older version, or applied already
        raise
    return True


def _facts(applicant_id: str) -> FactsItem:
    return FactsItem(pk=f"applicant#{applicant_id}", sk="facts")


def _newer_status(version: int | None):
    if version is None:
        return None
    return FactsItem.status_version.does_not_exist() | (FactsItem.status_version < version)


def applicant_registered(*, season: str, applicant_id: str, owner_sub: str | None, first_name: str,
                         last_name: str, email: str, code_number: str, college: str, credits_total: int,
                         version: int | None) -> None:
    F = FactsItem
    # the name and college as at registration, unless a profile change (versioned, newer) holds them
    _update(_facts(applicant_id), [
        F.applicant_id.set(applicant_id), F.season.set(season), F.first_name.set(F.first_name | first_name),
        F.last_name.set(F.last_name | last_name), F.email.set(email), F.code_number.set(code_number),
        F.college.set(F.college | college),
        F.credits_used.set(F.credits_used | 0), F.withdrawn.set(F.withdrawn | False),
        F.gsi1pk.set(F.gsi1pk | f"college#{college.upper()}#season#{season}"), F.gsi1sk.set(applicant_id),
        *([F.owner_sub.set(owner_sub)] if owner_sub else []),
    ])
    credits_at_least(applicant_id, credits_total)


def credits_at_least(applicant_id: str, credits_total: int) -> None:
    """R4: credits bought in registration: the counter keeps the highest total announced."""
    F = FactsItem
    _update(_facts(applicant_id), [F.credits_total.set(credits_total)],
            condition=F.credits_total.does_not_exist() | (F.credits_total < credits_total))


def withdrawn(applicant_id: str, value: bool, version: int | None) -> None:
    F = FactsItem
    actions = [F.withdrawn.set(value)] + ([F.status_version.set(version)] if version is not None else [])
    _update(_facts(applicant_id), actions, condition=_newer_status(version))


def may_apply(applicant_id: str) -> None:
    _update(_facts(applicant_id), [FactsItem.may_apply.set(True)])


def in_mpii(applicant_id: str) -> None:
    _update(_facts(applicant_id), [FactsItem.in_mpii.set(True)])


def program(*, season: str, program_code: str, name: str, application_deadline: datetime | None,
            track_codes: list[str], version: int | None) -> None:
    P = ProgramFactsItem
    item = ProgramFactsItem(pk=f"program#{program_code}", sk=f"season#{season}")
    actions = [P.season.set(season), P.program_code.set(program_code), P.name.set(name),
               P.track_codes.set(track_codes), P.gsi1pk.set(f"season#{season}#programs"),
               P.gsi1sk.set(program_code)]
    actions.append(P.application_deadline.set(application_deadline) if application_deadline
                   else P.application_deadline.remove())
    condition = None
    if version is not None:
        actions.append(P.version.set(version))
        condition = P.version.does_not_exist() | (P.version < version)
    _update(item, actions, condition)


def mpii_tracks(season: str, track_codes: list[str]) -> None:
    """M7: the tracks in MPII; each program with one of them takes MPII applications."""
    programs: dict[str, list[str]] = {}
    for code in track_codes:
        programs.setdefault(code[:3], []).append(code)
    for program_code, codes in programs.items():
        _update(ProgramFactsItem(pk=f"program#{program_code}", sk=f"season#{season}"),
                [ProgramFactsItem.mpii_tracks.set(sorted(codes)), ProgramFactsItem.season.set(season),
                 ProgramFactsItem.program_code.set(program_code)])


def calendar(season: str, instants: dict[str, datetime], version: int | None) -> None:
    C = CalendarItem
    condition = None
    actions = [C.season.set(season), C.calendar.set({k: iso(v) for k, v in instants.items()})]
    if version is not None:
        actions.append(C.version.set(version))
        condition = C.version.does_not_exist() | (C.version < version)
    _update(CalendarItem(pk=f"season#{season}", sk="calendar"), actions, condition)


def scores_released(applicant_id: str, explanation: str) -> None:
    """S1: the release is signed (its explanation is shown to programs with the results)."""
    _update(_facts(applicant_id), [FactsItem.scores_released.set(True),
                                   FactsItem.release_explanation.set(explanation or ""),
                                   FactsItem.release_missing.set(False)])


def release_missing(applicant_id: str) -> None:
    """S2: no release by score_release_deadline: the application may not be marked complete."""
    _update(_facts(applicant_id), [FactsItem.release_missing.set(True)],
            condition=FactsItem.scores_released.does_not_exist() | (FactsItem.scores_released == False))  # noqa: E712


def result(applicant_id: str, result_id: str, exam: str, exam_date: str, outcome: str, official: bool,
           visible_from: datetime | None) -> None:
    """S3, S6, S7: one exam attempt (a later event of the same attempt replaces it: verified S7).
    The review desk lists hundreds of applicants at once: their attempts ride on the facts item
    and on the desk row of each program the applicant was delivered to (one item a row). One read
    of the applicant's partition (the attempts stored, the facts' results_version, the
    designations), then ONE transaction: the attempt's item, the list rebuilt from the attempts
    stored with this one, on the facts item only at the results_version read (another attempt
    written meanwhile makes it read again: no attempt is ever left out of the list), and the desk rows."""
    attempt_item = ResultItem(pk=f"applicant#{applicant_id}", sk=f"result#{result_id}", exam=exam,
                              exam_date=exam_date, result=outcome, official=official, visible_from=visible_from)
    this = {"result_id": result_id, "exam": exam, "exam_date": exam_date, "result": outcome,
            "official": bool(official), "visible_from": visible_from}
    store = DynamoApplicationStore()
    F = FactsItem
    moved = SourcesMoved("another attempt was recorded, or a delivery made, meanwhile", extra={"retry": True})
    for attempt in range(RESULT_RETRIES):
        read = store.applicant(applicant_id)
        found = {r["result_id"]: r for r in read.results}
        found[result_id] = this
        rows = sorted(({**r, "visible_from": iso(r["visible_from"]) if r["visible_from"] else None}
                       for r in found.values()), key=lambda r: (r["exam"], r["exam_date"], r["result_id"]))
        text = results_json(rows)
        v = read.results_version
        t = Transaction(SERVICE, datetime.now(UTC))
        t.put(attempt_item)
        t.update(_facts(applicant_id), [F.results_json.set(text), F.results_count.set(len(rows)),
                                        F.results_version.add(1)],
                 condition=(F.results_version == v) if v else F.results_version.does_not_exist(), refusal=moved)
        desk_sync(t, read.designations, applicant_id, [DeskRowItem.results_json.set(text)], moved)
        try:
            t.commit()
        except Conflict as exc:
            if exc.extra.get("retry") and attempt < RESULT_RETRIES - 1:
                continue
            raise
        return


class _Older(Conflict):
    """A longer list of attempts is stored already (events arrive out of order)."""


def applicant_profile(*, season: str, applicant_id: str, first_name: str, last_name: str, college: str | None,
                      version: int) -> None:
    """R7: the applicant's name (and college) changed in registration. The facts item takes it
    (only a newer version than the one held: redeliveries and late events change nothing), and in
    the same transaction the `who` of the applicant's desk row in every program it was delivered
    to (each conditioned on the `who` read) with a check that each designation found undelivered
    still is: a delivery committing meanwhile makes this retry, and a delivery reading the old
    name fails on the facts' profile_version (store.facts_unchanged)."""
    F = FactsItem
    newer = F.profile_version.does_not_exist() | (F.profile_version < version)
    store = DynamoApplicationStore()
    for _ in range(PROFILE_RETRIES):
        try:
            item = FactsItem.get(f"applicant#{applicant_id}", "facts", consistent_read=True)
        except FactsItem.DoesNotExist:
            item = None
        if item is not None and item.profile_version is not None and item.profile_version >= version:
            return  # applied already, or a newer change is held
        if item is None or not item.season:
            # not registered here yet: keep the name for the registration's event (which keeps it)
            if _update(_facts(applicant_id), [F.first_name.set(first_name), F.last_name.set(last_name),
                                              F.profile_version.set(version)],
                       condition=newer & F.season.does_not_exist()):
                return
            continue  # registered meanwhile (or a newer change arrived): read again
        college = college or item.college
        t = Transaction(SERVICE, datetime.now(UTC))
        t.update(_facts(applicant_id), [
            F.first_name.set(first_name), F.last_name.set(last_name), F.college.set(college),
            F.gsi1pk.set(f"college#{college.upper()}#season#{item.season}"), F.profile_version.set(version)],
            condition=newer & F.season.exists(), refusal=_Older("a newer profile is held already"))
        designations = store.designations(applicant_id)
        moved = SourcesMoved("delivered or renamed meanwhile", extra={"retry": True})
        for d in designations:
            if d.delivered_at is None:
                continue
            row = desk_item(d.program_code, d.season, applicant_id)
            try:
                row.refresh(consistent_read=True)
            except DeskRowItem.DoesNotExist:
                continue  # delivered before the desk rows existed (the backfill gap, README)
            t.update(row, [DeskRowItem.who.set(who_renamed(row.who, first_name, last_name, college))],
                     condition=DeskRowItem.who == row.who, refusal=moved)
        desk_sync(t, [d for d in designations if d.delivered_at is None], applicant_id, [], moved)
        try:
            t.commit()
        except _Older:
            return
        except SourcesMoved:
            continue
        return
    raise SourcesMoved("the applicant's desk rows kept changing while being renamed; retry", extra={"retry": True})
