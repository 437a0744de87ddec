"""Use cases of the applications service (A1-A7, R4, M7). Each reads what it needs, checks
who may act, calls the domain for the change (new state + events + emails) and hands it to the
store, which commits the state and its outbox items in one transaction: nothing is published
or mailed outside it (shared.outbox)."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from applications.adapters import projections
from applications.adapters.store import (
    DELIVERIES_PER_TRANSACTION,
    ApplicantRead,
    CreditCounterMoved,
    not_registered,
)
from applications.bootstrap import Applications
from applications.domain.application import (
    MAX_DOCUMENT_BYTES,
    PRESENT,
    RECEIVED,
    SUBMITTED,
    Application,
    Letter,
    letter_request_email,
)
from applications.domain.college import Clinical, CollegeRecord
from applications.domain.designations import (
    MATCH,
    RULE_INSTANTS,
    ApplicantFacts,
    Calendar,
    Designation,
    check_counter,
    check_designation,
    delivery_instant,
    program_deadline,
)
from applications.domain.review import Review, desk_list, letters_received, visible_results
from shared import links
from shared.auth import Principal, require_program
from shared.contracts import (
    ApplicantProfileUpdated,
    ApplicantReinstated,
    ApplicantWithdrawn,
    ApplicationDelivered,
    ApplicationDesignated,
    CreditsPurchased,
    MpiiOpened,
    ProgramRegistered,
    ProgramUpdated,
    ScoresMayApply,
    ScoresReleased,
    ScoresReleaseMissing,
    ScoresResultRecorded,
    SeasonCalendarSet,
    SeasonDeadlineReached,
)
from shared.contracts import ApplicantRegistered as Registered
from shared.errors import Conflict, Forbidden, NotFound, RuleViolation

logger = Logger(service="applications")
LETTER_PURPOSE = "letter-writer"
LETTER_LINK_TTL = timedelta(days=120)
RETRIES = 5
CREDIT_RETRIES = 40


def now(svc: Applications) -> datetime:
    return svc.platform.clock.now()


# ----------------------------------------------------------------------------- who may act
def authorize_applicant(principal: Principal, facts: ApplicantFacts) -> None:
    """An applicant reaches only its own application; administrators all."""
    if principal.is_admin:
        return
    if principal.role == "applicant" and facts.owner_sub and facts.owner_sub == principal.sub:
        return
    raise Forbidden("you may only access your own application")


def _own(svc: Applications, principal: Principal, applicant_id: str) -> ApplicantRead:
    """The applicant's facts, application, designations and college record (one read, passed
    down to what the request does), when the principal may reach them."""
    read = svc.store.applicant(applicant_id)
    if read.facts is None:
        raise not_registered(applicant_id)
    authorize_applicant(principal, read.facts)
    return read


def _calendar(svc: Applications, season: str, calendar: Calendar | None = None) -> Calendar:
    """The season's calendar as registration announced it; an instant whose deadline event
    arrived counts as passed even when the calendar itself has not arrived yet (the instants
    seen are read only when the calendar lacks one the rules use)."""
    calendar = calendar if calendar is not None else svc.store.calendar(season)
    if all(k in calendar.instants for k in RULE_INSTANTS):
        return calendar
    seen = svc.deadlines.seen(season)
    extra = {k: v for k, v in seen.items() if k not in calendar.instants}
    return replace(calendar, instants={**calendar.instants, **extra}) if extra else calendar


def _change(svc: Applications, applicant_id: str, season: str, decide: Callable[[Application], object], *,
            rule: str | None = None, new_letter: str | None = None, read: ApplicantRead | None = None
            ) -> Application:
    """Asks the domain for the change of the application (as read by the request, `read`, or
    read here) and saves it at the version read; when another change slipped in between, reads
    again and decides again on the fresh state."""
    for attempt in range(RETRIES):
        if read is None or attempt:
            read = svc.store.applicant(applicant_id)
        app = read.app(season)
        change = decide(app)
        try:
            saved = svc.store.save(change, rule=rule, new_letter=new_letter, before=app,
                                   designations=read.designations)
            _discard(svc, app.object_keys() - saved.object_keys())
            return saved
        except Conflict as exc:
            if "changed meanwhile" not in exc.detail and not exc.extra.get("retry") or attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _discard(svc: Applications, keys) -> None:
    """A7: the PDFs a committed change dropped (a replaced or deleted supplemental document, a
    letter replaced by its writer, a replaced transcript, an unfinished upload replaced) are
    deleted from S3 right after the commit, best effort: a failure leaves an unreferenced object
    (logged; an S3 lifecycle rule or a sweep can remove it), never a broken application."""
    svc.storage.discard(keys, logger)


# ----------------------------------------------------------------------------- the application
def summary(svc: Applications, principal: Principal, applicant_id: str, read: ApplicantRead | None = None,
            app: Application | None = None) -> dict:
    """The application page: from the request's read (`read`, and `app` as it just saved it)."""
    read = read or _own(svc, principal, applicant_id)
    facts = read.facts
    app = app or read.app(facts.season)
    return {"facts": facts, "application": app, "designations": read.designations, "college_record": read.record,
            "deadlines": deadlines_of(svc, read.designations),
            "missing": missing(app, read.record, facts)}


def missing(app: Application, record: CollegeRecord | None = None, facts: ApplicantFacts | None = None) -> list[str]:
    """What the application still lacks before it is complete (A1): submission needs the
    first three; letters, the college's record (A2) and the score release (S2) may arrive later."""
    out = app.missing()
    if record is None or not record.supplied:
        out.append("college_record")
    if facts is not None and not facts.scores_released:
        out.append("score_release" + (" (S2: not released by the deadline)" if facts.release_missing else ""))
    received = len([x for x in app.letters if x.status == RECEIVED])
    if received < 3:
        out.append(f"letters_received: {received} of at least 3")
    if app.status != SUBMITTED:
        out.append("submission")
    return out


def offer_document(svc: Applications, principal: Principal, applicant_id: str, kind: str, filename: str,
                   size: int) -> tuple[str, dict]:
    read = _own(svc, principal, applicant_id)
    document_id = str(uuid.uuid4())
    app = _change(svc, applicant_id, read.facts.season,
                  lambda a: a.offer_upload(document_id, kind, filename, size, now(svc)), rule="A1", read=read)
    doc = app.document(document_id)
    return document_id, svc.storage.upload_form(doc.object_key, MAX_DOCUMENT_BYTES)


def complete_document(svc: Applications, principal: Principal, applicant_id: str, document_id: str):
    read = _own(svc, principal, applicant_id)
    season = read.facts.season
    doc = read.app(season).document(document_id)
    head, size = svc.storage.inspect(doc.object_key)
    app = _change(svc, applicant_id, season,
                  lambda a: a.complete_upload(document_id, head, size, now(svc)), rule="A1", read=read)
    return app.document(document_id), app


def delete_document(svc: Applications, principal: Principal, applicant_id: str, document_id: str) -> None:
    read = _own(svc, principal, applicant_id)
    _change(svc, applicant_id, read.facts.season, lambda a: a.remove_document(document_id), rule="A7", read=read)


def submit(svc: Applications, principal: Principal, applicant_id: str) -> Application:
    return submit_read(svc, principal, applicant_id)[1]


def submit_read(svc: Applications, principal: Principal, applicant_id: str) -> tuple[ApplicantRead, Application]:
    """Submits; returns what was read with the application as saved (the page answered from them)."""
    read = _own(svc, principal, applicant_id)
    if read.facts.withdrawn:
        raise RuleViolation("a withdrawn applicant cannot submit; reinstate the registration first (R7)", rule="R7")
    return read, _change(svc, applicant_id, read.facts.season, lambda a: a.submit(now(svc)), rule="A1", read=read)


# ----------------------------------------------------------------------------- letters (A1)
def letter_link(svc: Applications, applicant_id: str, letter_id: str) -> str:
    s = svc.platform.settings
    token = links.sign(s.link_secret_name, LETTER_PURPOSE, {"letter_id": letter_id, "applicant_id": applicant_id},
                       now=now(svc), ttl=LETTER_LINK_TTL)
    return f"{s.public_base_url}/applications/letters/respond?token={token}"


def request_letter(svc: Applications, principal: Principal, applicant_id: str, *, writer_name: str,
                   writer_email: str, label: str, waived: bool) -> Letter:
    read = _own(svc, principal, applicant_id)
    facts = read.facts
    letter_id = str(uuid.uuid4())
    email = letter_request_email(writer_email, writer_name, facts.name or "A CASPR applicant", label, waived,
                                 letter_link(svc, applicant_id, letter_id))
    app = _change(svc, applicant_id, facts.season,
                  lambda a: a.request_letter(letter_id, writer_name, writer_email, label, waived, now(svc), email),
                  rule="A1", new_letter=letter_id, read=read)
    return app.letter(letter_id)


def delete_letter(svc: Applications, principal: Principal, applicant_id: str, letter_id: str) -> None:
    read = _own(svc, principal, applicant_id)
    _change(svc, applicant_id, read.facts.season, lambda a: a.delete_letter(letter_id), rule="A1", read=read)


def remind_letter(svc: Applications, principal: Principal, applicant_id: str, letter_id: str) -> Letter:
    read = _own(svc, principal, applicant_id)
    facts = read.facts

    def decide(a: Application):
        letter = a.letter(letter_id)
        email = letter_request_email(letter.writer_email, letter.writer_name, facts.name or "A CASPR applicant",
                                     letter.label, letter.waived, letter_link(svc, applicant_id, letter_id),
                                     reminder=True)
        return a.remind(letter_id, now(svc), email)

    return _change(svc, applicant_id, facts.season, decide, rule="A1", read=read).letter(letter_id)


def _writer(svc: Applications, token: str | None, letter_id: str | None = None) -> tuple[ApplicantRead, str]:
    """The letter a writer's link is for (signed, expiring, scoped to one letter), and the
    applicant's facts and application, read together (one read)."""
    payload = links.verify(svc.platform.settings.link_secret_name, LETTER_PURPOSE, token or "", now=now(svc))
    if letter_id is not None and payload.get("letter_id") != letter_id:
        raise Forbidden("this link is for another letter")
    applicant_id = payload.get("applicant_id") or ""
    owner, facts, app = svc.store.letter_reads(payload["letter_id"], applicant_id)
    if owner != applicant_id:
        raise NotFound("this letter request no longer exists (the applicant withdrew it)")
    if facts is None:
        raise not_registered(applicant_id)
    return ApplicantRead(applicant_id, facts, app, None, None), payload["letter_id"]


def _writer_out(svc: Applications, read: ApplicantRead, app: Application, letter_id: str,
                delivered: bool | None = None) -> dict:
    """What the writer's page shows of the letter (delivered: known already, else read when it matters)."""
    try:
        letter = app.letter(letter_id)
    except NotFound as exc:
        raise NotFound("this letter request no longer exists (the applicant withdrew it)") from exc
    if letter.status == RECEIVED and delivered is None:
        delivered = _delivered(svc, read.applicant_id)
    return {"letter": letter, "applicant_name": read.facts.name, "season": read.facts.season,
            "replaceable": letter.status != RECEIVED or not delivered}


def writer_view(svc: Applications, token: str | None, letter_id: str | None = None) -> dict:
    read, letter_id = _writer(svc, token, letter_id)
    return _writer_out(svc, read, read.app(read.facts.season), letter_id)


def _delivered(svc: Applications, applicant_id: str) -> bool:
    return any(d.delivered_at is not None for d in svc.store.designations(applicant_id))


def _delivered_if_received(svc: Applications, read: ApplicantRead, letter_id: str) -> bool:
    """A1: a received letter may be replaced until the application is delivered; the
    designations are read only when the letter is received."""
    app = read.app(read.facts.season)
    received = any(x.letter_id == letter_id and x.status == RECEIVED for x in app.letters)
    return received and _delivered(svc, read.applicant_id)


def writer_respond(svc: Applications, token: str | None, letter_id: str, accept: bool) -> dict:
    """Accepts or declines; answers the writer's page from the application as saved."""
    read, _ = _writer(svc, token, letter_id)
    app = _change(svc, read.applicant_id, read.facts.season,
                  lambda a: a.respond(letter_id, accept, now(svc)), rule="A1", read=read)
    return _writer_out(svc, read, app, letter_id)


def writer_upload(svc: Applications, token: str | None, letter_id: str) -> dict:
    read, _ = _writer(svc, token, letter_id)
    delivered = _delivered_if_received(svc, read, letter_id)
    upload_id = str(uuid.uuid4())
    app = _change(svc, read.applicant_id, read.facts.season,
                  lambda a: a.offer_letter_upload(letter_id, upload_id, delivered), rule="A1", read=read)
    return svc.storage.upload_form(app.letter(letter_id).object_key(upload_id), MAX_DOCUMENT_BYTES)


def writer_complete(svc: Applications, token: str | None, letter_id: str) -> dict:
    """Marks the uploaded letter received; answers the writer's page from the application as
    saved (the designations, read once, say whether it is still replaceable)."""
    read, _ = _writer(svc, token, letter_id)
    read = replace(read, designations=svc.store.designations(read.applicant_id))  # once: the rule and the desk rows
    delivered = any(d.delivered_at is not None for d in read.designations)
    letter = read.app(read.facts.season).letter(letter_id)
    head, size = (svc.storage.inspect(letter.object_key(letter.upload_id)) if letter.upload_id
                  else (None, None))
    app = _change(svc, read.applicant_id, read.facts.season,
                  lambda a: a.complete_letter(letter_id, head, size, now(svc), delivered), rule="A1", read=read)
    return _writer_out(svc, read, app, letter_id, delivered)


# ----------------------------------------------------------------------------- designations (A3-A5, M7)
def designate(svc: Applications, principal: Principal, applicant_id: str, program_code: str,
              idempotency_key: str | None = None) -> tuple[Designation, int]:
    d, left, _ = designate_out(svc, principal, applicant_id, program_code, idempotency_key)
    return d, left


def designate_out(svc: Applications, principal: Principal, applicant_id: str, program_code: str,
                  idempotency_key: str | None = None) -> tuple[Designation, int, datetime | None]:
    """One credit each, spent in the designation's own transaction (the counter moves only from
    the count read, and only below the credits bought): never more designations than credits.
    A retried request with the same Idempotency-Key gets the designation it made, again.
    Returns the designation, the credits left and the program's deadline (A4). Reads: the
    applicant's partition once, the program and the calendar together once."""
    read = _own(svc, principal, applicant_id)
    facts = read.facts
    programs, calendar = svc.store.programs_and_calendar([program_code], facts.season)
    calendar = _calendar(svc, facts.season, calendar)
    program = programs.get(program_code)
    deadline = program_deadline(program, calendar) if program else None
    if idempotency_key:
        for done in read.designations:
            if done.program_code == program_code and done.idempotency_key == idempotency_key:
                return done, facts.credits_left, deadline
    if program is None:
        raise NotFound(f"no program {program_code} in season {facts.season}")
    app = read.app(facts.season)
    at = now(svc)
    already = {(d.round, d.program_code) for d in read.designations}
    round_, delivered_at = check_designation(facts, app.status == SUBMITTED, program, calendar, at, already)
    d = Designation(applicant_id, facts.season, program_code, round_, at, delivered_at,
                    idempotency_key=idempotency_key)
    for attempt in range(CREDIT_RETRIES):
        events = [ApplicationDesignated(season=d.season, applicant_id=applicant_id, program_code=program_code,
                                        round=round_, designated_at=at, credits_used=facts.credits_used + 1,
                                        credits_total=facts.credits_total)]
        if delivered_at is not None:
            events.append(_delivered_event(d, delivered_at))
        try:
            stored = svc.store.designate(d, facts, events, read=read)
            return stored, facts.credits_total - stored.credit_number, deadline
        except Conflict as exc:
            # another designation spent a credit meanwhile (or a withdrawal / credits arrived), or,
            # on DynamoDB, was being written at the same instant (TransactionConflict): read the
            # counter again and decide again. "Designated already" is final.
            if not (isinstance(exc, CreditCounterMoved) or exc.extra.get("retry")) or attempt == CREDIT_RETRIES - 1:
                raise
            time.sleep(random.uniform(0, 0.005 * min(attempt + 1, 4)))
            read = svc.store.applicant(applicant_id)
            if read.facts is None:
                raise not_registered(applicant_id) from exc
            facts = read.facts
            check_counter(facts)
    raise AssertionError("unreachable")


def designations(svc: Applications, principal: Principal, applicant_id: str
                 ) -> tuple[ApplicantFacts, list, dict[tuple[str, str], datetime | None]]:
    """The designations and each program's deadline (A4)."""
    read = _own(svc, principal, applicant_id)
    return read.facts, read.designations, deadlines_of(svc, read.designations)


def deadlines_of(svc: Applications, found: list[Designation]) -> dict[tuple[str, str], datetime | None]:
    """A4: the deadline of each designated program, by (season, program code): per season one
    read of its programs and calendar together (none without designations)."""
    out: dict[tuple[str, str], datetime | None] = {}
    for season in sorted({d.season for d in found}):
        codes = sorted({d.program_code for d in found if d.season == season})
        programs, calendar = svc.store.programs_and_calendar(codes, season)
        calendar = _calendar(svc, season, calendar)
        out.update({(season, c): program_deadline(programs[c], calendar) if c in programs else None for c in codes})
    return out


def _delivered_event(d: Designation, at: datetime) -> ApplicationDelivered:
    return ApplicationDelivered(season=d.season, applicant_id=d.applicant_id, program_code=d.program_code,
                                round=d.round, designated_at=d.designated_at, delivered_at=at)


def deliver_due(svc: Applications, season: str, at: datetime) -> int:
    """A5: at applications_delivered, every designation made before it becomes visible to its
    program (each with its event; a redelivered deadline event delivers nothing twice)."""
    delivered = 0
    pending = svc.store.undelivered(season)
    # the applicants' facts, applications and college records in batches (100 items a read), not
    # three reads a delivery; each delivery's transaction checks they are still what was read
    reads = svc.store.applicants_many([d.applicant_id for d in pending])
    by_applicant: dict[str, list[Designation]] = {}
    for d in pending:
        by_applicant.setdefault(d.applicant_id, []).append(d)
    for applicant_id, ds in by_applicant.items():
        r = reads.get(applicant_id)
        if r is not None and r.facts.withdrawn:
            continue  # a withdrawn applicant's applications wait: delivered if reinstated (on_reinstated)
        # an applicant's deliveries in one transaction (a few at most, each of its own program)
        for start in range(0, len(ds), DELIVERIES_PER_TRANSACTION):
            delivered += svc.store.deliver_many(ds[start:start + DELIVERIES_PER_TRANSACTION], at,
                                                lambda d: [_delivered_event(d, at)], read=r)
    return delivered


# ----------------------------------------------------------------------------- consumers
def record_deadline(svc: Applications, event: SeasonDeadlineReached) -> None:
    svc.deadlines.record(event.season, event.key, event.at)
    if event.key == "applications_delivered":
        deliver_due(svc, event.season, event.at)


def on_registered(svc: Applications, e: Registered) -> None:
    projections.applicant_registered(season=e.season, applicant_id=e.applicant_id, owner_sub=e.owner_sub,
                                     first_name=e.first_name, last_name=e.last_name, email=e.email,
                                     code_number=e.code_number, college=e.college, credits_total=e.credits_total,
                                     version=e.version)


def on_profile(svc: Applications, e: ApplicantProfileUpdated) -> None:
    """R7: a new name (or college) reaches the facts and the desk row in every program the
    applicant was delivered to. An event without the name (an older producer) or without a
    version (nothing to order it by) changes nothing here."""
    if e.first_name is None or e.last_name is None or e.version is None:
        return
    projections.applicant_profile(season=e.season, applicant_id=e.applicant_id, first_name=e.first_name,
                                  last_name=e.last_name, college=e.college, version=e.version)


def on_credits(svc: Applications, e: CreditsPurchased) -> None:
    projections.credits_at_least(e.applicant_id, e.credits_total)


def on_withdrawn(svc: Applications, e: ApplicantWithdrawn) -> None:
    projections.withdrawn(e.applicant_id, True, e.version)


def on_reinstated(svc: Applications, e: ApplicantReinstated) -> None:
    projections.withdrawn(e.applicant_id, False, e.version)
    # applications held back by the withdrawal go out now when applications_delivered has passed
    read = svc.store.applicant(e.applicant_id)
    if read.facts is None or read.facts.withdrawn:
        return
    at = now(svc)
    if delivery_instant(_calendar(svc, e.season), at, MATCH) is None:
        return
    waiting = [d for d in read.designations if d.delivered_at is None]
    for start in range(0, len(waiting), DELIVERIES_PER_TRANSACTION):
        svc.store.deliver_many(waiting[start:start + DELIVERIES_PER_TRANSACTION], at,
                               lambda d: [_delivered_event(d, at)], read=read)


def on_may_apply(svc: Applications, e: ScoresMayApply) -> None:
    """A3: the applicant's first Part I pass."""
    projections.may_apply(e.applicant_id)


def on_scores_released(svc: Applications, e: ScoresReleased) -> None:
    projections.scores_released(e.applicant_id, e.explanation)


def on_release_missing(svc: Applications, e: ScoresReleaseMissing) -> None:
    projections.release_missing(e.applicant_id)


def on_result(svc: Applications, e: ScoresResultRecorded) -> None:
    projections.result(e.applicant_id, e.result_id, e.exam, e.exam_date.isoformat(), e.result, e.official,
                       e.visible_from)


def on_program(svc: Applications, e: ProgramRegistered | ProgramUpdated) -> None:
    projections.program(season=e.season, program_code=e.program_code, name=e.name,
                        application_deadline=e.application_deadline,
                        track_codes=[t.track_code for t in e.tracks], version=getattr(e, "version", None))


def on_calendar(svc: Applications, e: SeasonCalendarSet) -> None:
    projections.calendar(e.season, e.calendar, e.version)


def on_mpii_opened(svc: Applications, e: MpiiOpened) -> None:
    for applicant_id in e.applicant_ids:
        projections.in_mpii(applicant_id)
    projections.mpii_tracks(e.season, e.track_codes)


# ----------------------------------------------------------------------------- the review desk (A6)
def _program_season(svc: Applications, principal: Principal, program_code: str, season: str | None) -> str:
    require_program(principal, program_code)
    season = season or svc.store.latest_season(program_code)
    if season is None:
        raise NotFound(f"no program {program_code}")
    return season


def _row(d: Designation, facts: ApplicantFacts, app: Application | None, review: Review,
         record: CollegeRecord | None = None, results: list[dict] | None = None) -> dict:
    return {"gpa": record.gpa if record else None, "class_rank": record.class_rank if record else None,
            "class_size": record.class_size if record else None, "results": results or [],
            "applicant_id": d.applicant_id, "first_name": facts.first_name, "last_name": facts.last_name,
            "code_number": facts.code_number, "college": facts.college, "round": d.round,
            "delivered_at": d.delivered_at, "letters_received": letters_received(app) if app else 0,
            "tags": list(review.tags), "rating": review.rating, "review_status": review.review_status,
            "notes": review.notes}


def review_list(svc: Applications, principal: Principal, program_code: str, *, season: str | None = None,
                review_status: str | None = None, tag: str | None = None, rating_min: int | None = None,
                q: str | None = None, sort: str | None = None) -> tuple[str, list[dict]]:
    """A6: only applications delivered to the program, with its own review fields: one Query of
    the program's desk rows (one item per delivered application), filtered and sorted in the domain."""
    season = _program_season(svc, principal, program_code, season)
    rows = desk_list(svc.store.desk(program_code, season), now(svc), review_status=review_status, tag=tag,
                     rating_min=rating_min, q=q, sort=sort)
    return season, rows


def _delivered_to(svc: Applications, program_code: str, season: str, applicant_id: str,
                  found: list[Designation] | None = None) -> Designation:
    """A6: a program sees nothing that was not delivered to it (404, as if it did not exist).
    `found`: the applicant's designations as read by the request (read here when not given)."""
    for d in (svc.store.designations(applicant_id) if found is None else found):
        if d.program_code == program_code and d.season == season and d.delivered_at is not None:
            return d
    raise NotFound(f"no application of {applicant_id} delivered to program {program_code}")


def review_one(svc: Applications, principal: Principal, program_code: str, applicant_id: str,
               season: str | None = None, read: ApplicantRead | None = None, review: Review | None = None) -> dict:
    """`read`, `review`: as the request read (and wrote) them already (read here when not given)."""
    season = _program_season(svc, principal, program_code, season)
    read = read or svc.store.applicant(applicant_id)  # facts, application, designations, record, attempts
    d = _delivered_to(svc, program_code, season, applicant_id, read.designations)
    if read.facts is None:
        raise not_registered(applicant_id)
    facts, app, record = read.facts, read.app(season), read.record
    review = review or svc.store.review(program_code, season, applicant_id) or Review(program_code, season,
                                                                                       applicant_id)
    row = _row(d, facts, app, review, record, visible_results(list(read.results), now(svc)))
    row["email"] = facts.email
    row["release_explanation"] = facts.release_explanation
    row["documents"] = [{"document_id": x.document_id, "kind": x.kind, "filename": x.filename, "size": x.size,
                         "download_url": svc.storage.download_url(x.object_key)}
                        for x in app.documents if x.status == PRESENT]
    row["letters"] = [{"letter_id": x.letter_id, "writer_name": x.writer_name, "label": x.label,
                       "waived": x.waived, "received_at": x.received_at,
                       "download_url": svc.storage.download_url(x.object_key(x.file_id))}
                      for x in app.letters if x.status == RECEIVED and x.file_id]
    row["college_record"] = record_out(svc, record, downloads=True)
    return row


def record_out(svc: Applications, record: CollegeRecord | None, downloads: bool = False) -> dict | None:
    if record is None:
        return None
    out = {"college": record.college, "gpa": record.gpa, "class_rank": record.class_rank,
           "class_size": record.class_size, "updated_at": record.updated_at,
           "clinicals": [{"site": c.site, "specialty": c.specialty, "weeks": c.weeks} for c in record.clinicals],
           "documents": [{"document_id": d.document_id, "kind": d.kind, "filename": d.filename, "size": d.size,
                          **({"download_url": svc.storage.download_url(d.object_key)} if downloads else {})}
                         for d in record.documents if d.status == PRESENT]}
    return out


# ----------------------------------------------------------------------------- college records (A2)
def _college(principal: Principal, college: str) -> None:
    """A college account reaches only its own students; administrators all."""
    if principal.is_admin:
        return
    if principal.role != "college" or (principal.college_id or "").upper() != college.upper():
        raise Forbidden(f"only college {college}'s own accounts may do this (A2)")


def _student(svc: Applications, college: str, applicant_id: str) -> ApplicantRead:
    """The student's facts, record and designations (one read), when of this college."""
    read = svc.store.applicant(applicant_id)
    if read.facts is None or read.facts.college.upper() != college.upper():
        raise NotFound(f"no student {applicant_id} of college {college}")
    return read


def _record_change(svc: Applications, read: ApplicantRead, college: str, decide) -> CollegeRecord:
    """Saves the record at the version read (the request's read first; a retry reads again)."""
    for attempt in range(RETRIES):
        if attempt:
            read = svc.store.applicant(read.applicant_id)
        record = read.record or CollegeRecord(read.applicant_id, college.upper())
        new = decide(record)
        try:
            svc.store.save_college_record(new, record.version, before=record, designations=read.designations)
            _discard(svc, record.object_keys() - new.object_keys())
            return replace(new, version=record.version + 1)
        except Conflict:
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def put_record(svc: Applications, principal: Principal, college: str, applicant_id: str, *, gpa: float,
               class_rank: int | None, class_size: int | None, clinicals: list[dict]) -> CollegeRecord:
    _college(principal, college)
    read = _student(svc, college, applicant_id)
    items = [Clinical(c["site"], c["specialty"], int(c["weeks"])) for c in clinicals]
    return _record_change(svc, read, college,
                          lambda r: r.set_facts(gpa, class_rank, class_size, items, now(svc)))


def offer_college_document(svc: Applications, principal: Principal, college: str, applicant_id: str, kind: str,
                           filename: str, size: int) -> tuple[str, dict]:
    _college(principal, college)
    read = _student(svc, college, applicant_id)
    document_id = str(uuid.uuid4())
    record = _record_change(svc, read, college,
                            lambda r: r.offer_upload(document_id, kind, filename, size, now(svc)))
    return document_id, svc.storage.upload_form(record.document(document_id).object_key, MAX_DOCUMENT_BYTES)


def complete_college_document(svc: Applications, principal: Principal, college: str, applicant_id: str,
                              document_id: str) -> CollegeRecord:
    _college(principal, college)
    read = _student(svc, college, applicant_id)
    if read.record is None:
        raise NotFound(f"no document {document_id}")
    head, size = svc.storage.inspect(read.record.document(document_id).object_key)
    return _record_change(svc, read, college, lambda r: r.complete_upload(document_id, head, size, now(svc)))


def students(svc: Applications, principal: Principal, college: str, season: str) -> list[dict]:
    """A2: the college's students and their progress; a college sees only its own. One query of
    the college's students (their facts carry the programs designated) and two batch reads."""
    _college(principal, college)
    found = svc.store.students(college.upper(), season)
    ids = [f.applicant_id for f in found]
    apps = svc.store.applications_many(ids)
    records = svc.store.college_records_many(ids)
    rows = []
    for f in sorted(found, key=lambda f: (f.last_name.lower(), f.first_name.lower(), f.applicant_id)):
        app = apps.get(f.applicant_id) or Application(f.applicant_id, f.season)
        record = records.get(f.applicant_id)
        rows.append({
            "applicant_id": f.applicant_id, "first_name": f.first_name, "last_name": f.last_name,
            "code_number": f.code_number, "registered": True, "withdrawn": f.withdrawn,
            "score_release_done": f.scores_released,
            "documents": sorted({d.kind for d in app.documents if d.status == PRESENT}),
            "letters_requested": len(app.active_letters),
            "letters_received": len([x for x in app.letters if x.status == RECEIVED]),
            "submitted": app.status == SUBMITTED,
            "programs_designated": list(f.programs_designated),
            "college_record": record_out(svc, record)})
    return rows


def review_patch(svc: Applications, principal: Principal, program_code: str, applicant_id: str, changes: dict,
                 season: str | None = None) -> dict:
    season = _program_season(svc, principal, program_code, season)
    read = svc.store.applicant(applicant_id)
    _delivered_to(svc, program_code, season, applicant_id, read.designations)
    review = svc.store.review(program_code, season, applicant_id) or Review(program_code, season, applicant_id)
    patched = review.patch(changes, now(svc))
    svc.store.save_review(patched)  # only on a delivered row (its condition)
    return review_one(svc, principal, program_code, applicant_id, season, read=read, review=patched)


CSV_COLUMNS = ("applicant_id", "last_name", "first_name", "code_number", "college", "round", "delivered_at",
               "letters_received", "review_status", "rating", "tags", "notes")


def review_csv(rows: list[dict]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        values = []
        for c in CSV_COLUMNS:
            v = r.get(c)
            v = ";".join(v) if isinstance(v, list) else ("" if v is None else str(v))
            if v[:1] in ("=", "+", "-", "@"):  # no formulas in a spreadsheet (CSV injection)
                v = "'" + v
            values.append(v)
        writer.writerow(values)
    return out.getvalue()


# ----------------------------------------------------------------------------- the packet (A6)
def review_packet(svc: Applications, principal: Principal, program_code: str, applicant_id: str,
                  season: str | None = None) -> str:
    """One PDF: a cover page (the applicant's facts and results) then the personal statement,
    CV, received letters, transcript and Dean's letter. It is written to S3 (a packet may be
    larger than a Lambda response) and the caller gets a short-lived download link to it."""
    from applications.adapters.packet import packet

    season = _program_season(svc, principal, program_code, season)
    read = svc.store.applicant(applicant_id)  # facts, application, designations, record, attempts: one read
    d = _delivered_to(svc, program_code, season, applicant_id, read.designations)
    if read.facts is None:
        raise not_registered(applicant_id)
    facts, app, record = read.facts, read.app(season), read.record
    results = visible_results(list(read.results), now(svc))
    cover = [f"Applicant: {facts.name}   Code Number: {facts.code_number or '-'}   Season: {season}",
             f"College: {facts.college}   Email: {facts.email}",
             f"Delivered to program {program_code}: {d.delivered_at.isoformat() if d.delivered_at else '-'}"
             f" ({d.round})"]
    if record is not None:
        cover.append(f"GPA: {record.gpa if record.gpa is not None else '-'}   Class rank: "
                     f"{record.class_rank or '-'} of {record.class_size or '-'}")
        cover += [f"Clinical: {c.site}, {c.specialty}, {c.weeks} weeks" for c in record.clinicals]
    cover.append("APMLE results (pass/fail per attempt):" + ("" if results else " none visible yet"))
    cover += [f"  {r['exam']} {r['exam_date']}: {r['result']}{'' if r['official'] else ' (unofficial)'}"
              for r in results]
    if facts.release_explanation:
        cover.append(f"Applicant's explanation: {facts.release_explanation}")
    letters = [x for x in app.letters if x.status == RECEIVED and x.file_id]
    cover += [f"Letter: {x.writer_name} ({x.label or 'no label'}), "
              f"{'right to see waived' if x.waived else 'right to see NOT waived'}" for x in letters]
    parts: list[tuple[str, str]] = []
    for kind, label in (("personal_statement", "Personal statement"), ("cv", "CV"), ("supplemental",
                                                                                       "Supplemental")):
        parts += [(f"{label}: {x.filename}", x.object_key) for x in app.present(kind)]
    parts += [(f"Letter: {x.writer_name}", x.object_key(x.file_id)) for x in letters]
    if record is not None:
        for kind, label in (("transcript", "Transcript"), ("deans_letter", "Dean's letter")):
            parts += [(label, x.object_key) for x in record.documents if x.kind == kind and x.status == PRESENT]
    data = packet(cover, [(label, svc.storage.read(key)) for label, key in parts])
    key = f"packets/{program_code}/{season}/{applicant_id}/{uuid.uuid4()}.pdf"
    svc.storage.write(key, data)
    return svc.storage.download_url(key)
