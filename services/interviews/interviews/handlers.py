"""Use cases of the interviews service: read what the rules need, decide (domain), write
through the store (one transaction with the outbox per change). Never publish or mail here."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NamedTuple

from aws_lambda_powertools import Logger

from interviews import emails
from interviews.bootstrap import Interviews
from interviews.domain import (
    MAX_ATTACHMENT_BYTES,
    ApplicantInfo,
    Attachment,
    Booking,
    EventFull,
    InterviewEvent,
    InterviewType,
    Invitation,
    ProgramInfo,
    attachment_key,
    check_attachment_offer,
    check_event_window,
    check_pdf,
    digest_days,
    require_before_lockout,
    require_coth,
    require_invitations_open,
    valid_timezone,
    validate_event,
)
from shared import links
from shared.auth import Principal, require_program
from shared.contracts import (
    ApplicantProfileUpdated,
    ApplicantRegistered,
    ApplicationDelivered,
    InterviewBooked,
    InterviewBookingCancelled,
    InterviewFeeRefundDue,
    InterviewInvited,
    ProgramRegistered,
    ProgramUpdated,
    SeasonCalendarSet,
    SeasonDeadlineReached,
)
from shared.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from shared.money import INTERVIEW_FEE_CENTS

logger = Logger(service="interviews")
LINK_PURPOSE = "interview-booking"
LINK_TTL = timedelta(days=120)
CONFLICT_RETRIES = 3


# ----------------------------------------------------------------------------- projections
def record_deadline(svc: Interviews, event: SeasonDeadlineReached) -> None:
    svc.deadlines.record(event.season, event.key, event.at)
    # I8: interviews_close (a calendar key; default: rol_deadline)
    if event.key == "interviews_close" or (
            event.key == "rol_deadline" and "interviews_close" not in svc.store.calendar(event.season)):
        refund_unbooked(svc, event.season, event.at)


def on_calendar(svc: Interviews, e: SeasonCalendarSet) -> None:
    svc.store.put_calendar(e.season, dict(e.calendar), e.version)


def on_program(svc: Interviews, e: ProgramRegistered | ProgramUpdated) -> None:
    svc.store.put_program(ProgramInfo(program_code=e.program_code, season=e.season, name=e.name, coth=e.coth,
                                      crip=e.crip, email=e.contact_email), getattr(e, "version", None))


def on_applicant(svc: Interviews, e: ApplicantRegistered) -> None:
    svc.store.put_applicant(ApplicantInfo(applicant_id=e.applicant_id, season=e.season, email=e.email,
                                          first_name=e.first_name, last_name=e.last_name,
                                          timezone=e.timezone or "America/Chicago", owner_sub=e.owner_sub), e.version)


def on_profile(svc: Interviews, e: ApplicantProfileUpdated) -> None:
    if valid_timezone(e.timezone):
        svc.store.set_timezone(e.applicant_id, e.timezone)


def on_delivered(svc: Interviews, e: ApplicationDelivered) -> None:
    svc.store.mark_delivered(e.applicant_id, e.program_code, e.delivered_at)


# ----------------------------------------------------------------------------- programs (I1, I3, I7)
def _program(svc: Interviews, principal: Principal | None, code: str) -> ProgramInfo:
    if principal is not None:
        require_program(principal, code)
    return _held_program(svc.store.program(code), code)


def _held_program(p: ProgramInfo | None, code: str) -> ProgramInfo:
    if p is None:
        raise NotFound(f"program {code} is not registered")
    require_coth(p)  # I3
    return p


def add_type(svc: Interviews, principal: Principal, code: str, name: str, description: str) -> InterviewType:
    p = _program(svc, principal, code)
    t = InterviewType(type_id=uuid.uuid4().hex[:12], program_code=code, season=p.season, name=name,
                      description=description)
    svc.store.add_type(t)
    return t


def types(svc: Interviews, principal: Principal | None, code: str) -> list[InterviewType]:
    _program(svc, principal, code)
    return svc.store.types(code)


def add_event(svc: Interviews, principal: Principal, code: str, *, type_id: str, start: datetime, end: datetime,
              capacity: int, place: str, location: str, timezone: str, lockout_at: datetime | None) -> InterviewEvent:
    p = _program(svc, principal, code)
    if type_id not in {t.type_id for t in svc.store.types(code)}:
        raise ValidationFailed("no such interview type of this program",
                               errors=[FieldError("type_id", f"is not a type of program {code}")])
    lockout = lockout_at or start
    validate_event(start, end, capacity, place, timezone, lockout)
    check_event_window(p, place, start, end, svc.store.calendar(p.season))  # I7
    e = InterviewEvent(event_id=uuid.uuid4().hex[:12], program_code=code, season=p.season, type_id=type_id,
                       start=start, end=end, capacity=capacity, place=place, location=location, timezone=timezone,
                       lockout_at=lockout)
    svc.store.add_event(e)
    return e


def change_event(svc: Interviews, principal: Principal, code: str, event_id: str, changes: dict) -> InterviewEvent:
    """I1: PATCH an event; a booked event cannot shrink below its bookings nor move (a condition)."""
    p = _program(svc, principal, code)
    e = svc.store.event(event_id)
    if e is None or e.program_code != code:
        raise NotFound(f"event {event_id} is not an event of program {code}")
    after = replace(e, **changes)
    validate_event(after.start, after.end, after.capacity, after.place, after.timezone, after.lockout_at)
    if "start" in changes or "end" in changes:
        check_event_window(p, after.place, after.start, after.end, svc.store.calendar(p.season))  # I7
    return svc.store.update_event(e, changes)


def delete_event(svc: Interviews, principal: Principal, code: str, event_id: str) -> int:
    """I1: the event takes no new booking, each booking of it is cancelled and its applicant told by
    email (one transaction each, as a cancellation), then the event is deleted. Returns how many
    bookings were cancelled."""
    p = _program(svc, principal, code)
    e = svc.store.event(event_id)
    if e is None or e.program_code != code:
        raise NotFound(f"event {event_id} is not an event of program {code}")
    svc.store.close_event(event_id)
    now = svc.platform.clock.now()
    cancelled = 0
    for _ in range(CONFLICT_RETRIES):
        for b in svc.store.event_bookings(event_id):
            a = svc.store.applicant(b.applicant_id)
            mails = [emails.event_cancelled(a, p, b, e)] if a else []
            try:
                svc.store.cancel(b, e, now, [InterviewBookingCancelled(
                    season=e.season, booking_id=b.booking_id, applicant_id=b.applicant_id, program_code=code,
                    type_id=b.type_id, event_id=event_id, sequence=b.sequence + 1, at=now)], mails)
                cancelled += 1
            except Conflict:
                continue  # cancelled or moved meanwhile
        try:
            svc.store.delete_event(event_id)
            return cancelled
        except Conflict:
            continue
    raise Conflict(f"event {event_id} is still being booked; retry", extra={"retry": True})


def events(svc: Interviews, principal: Principal | None, code: str) -> list[InterviewEvent]:
    _program(svc, principal, code)
    return svc.store.events(code)


def schedule(svc: Interviews, principal: Principal, code: str, frm: datetime | None, to: datetime | None
             ) -> list[tuple[InterviewEvent, list[Booking]]]:
    _program(svc, principal, code)
    out = []
    for e in sorted(svc.store.events(code), key=lambda e: e.start):
        if (frm and e.end < frm) or (to and e.start > to):
            continue
        out.append((e, svc.store.event_bookings(e.event_id)))
    return out


# ----------------------------------------------------------------------------- invitations (I2, I9)
def booking_link(svc: Interviews, inv: Invitation, now: datetime) -> str:
    s = svc.platform.settings
    token = links.sign(s.link_secret_name, LINK_PURPOSE, {"a": inv.applicant_id, "i": inv.invitation_id}, now=now,
                       ttl=LINK_TTL)
    return f"{s.public_base_url.rstrip('/')}/interviews/book?token={token}"


def invite(svc: Interviews, principal: Principal, code: str, applicant_id: str, type_ids: list[str],
           message: str) -> Invitation:
    require_program(principal, code)
    p, a, delivered = svc.store.invitation_reads(code, applicant_id)  # one round trip, checked in this order:
    p = _held_program(p, code)
    now = svc.platform.clock.now()
    require_invitations_open(svc.store.calendar(p.season), now)  # I2
    known = {t.type_id: t for t in svc.store.types(code)}
    unknown = [t for t in type_ids if t not in known]
    if unknown or not type_ids:
        raise ValidationFailed("the invitation names interview types this program does not have",
                               errors=[FieldError("type_ids", f"unknown: {', '.join(unknown) or '(none given)'}")])
    if a is None or not delivered:
        raise Forbidden(f"applicant {applicant_id}'s application was not delivered to program {code}: only those "
                        "applicants may be invited (I2)", rule="I2")
    inv = Invitation(invitation_id=uuid.uuid4().hex, program_code=code, season=p.season, applicant_id=applicant_id,
                     type_ids=tuple(dict.fromkeys(type_ids)), message=message, created_at=now)
    link = booking_link(svc, inv, now)
    svc.store.add_invitation(
        inv, now,
        [InterviewInvited(season=p.season, invitation_id=inv.invitation_id, applicant_id=applicant_id,
                          program_code=code, type_ids=list(inv.type_ids), invited_at=now)],
        [emails.invitation(a, p, inv, [known[t] for t in inv.type_ids], link)])
    return inv


# ----------------------------------------------------------------------------- who acts for an applicant
def link_scope(svc: Interviews, token: str) -> tuple[str, str]:
    """The applicant and invitation a booking link's token names (I2)."""
    payload = links.verify(svc.platform.settings.link_secret_name, LINK_PURPOSE, token,
                           now=svc.platform.clock.now())
    return payload["a"], payload["i"]


def require_applicant(svc: Interviews, principal: Principal | None, applicant_id: str,
                      token: str | None = None, invitation_id: str | None = None) -> ApplicantInfo:
    a = svc.store.applicant(applicant_id)
    if token:
        aid, iid = link_scope(svc, token)
        if aid != applicant_id or (invitation_id is not None and iid != invitation_id):
            raise Forbidden("this booking link is for another invitation")
    elif principal is None:
        raise Forbidden("sign in, or use the booking link of your invitation email")
    elif not principal.is_admin and (a is None or principal.sub != a.owner_sub):
        raise Forbidden("only the applicant (or an administrator) may do this")
    if a is None:
        raise NotFound(f"applicant {applicant_id} is not known to the interviews service")
    return a


# ----------------------------------------------------------------------------- bookings (I4, I5)
def _retrying(fn):
    """A transaction that met another one on the same item (DynamoDB's TransactionConflict:
    not a refusal) is tried again a few times before answering 409 retry."""
    for attempt in range(CONFLICT_RETRIES):
        try:
            return fn()
        except Conflict as exc:
            if not exc.extra.get("retry") or attempt == CONFLICT_RETRIES - 1:
                raise


def _booked_event(b: Booking, e: InterviewEvent, season: str, now: datetime, previous: str | None = None):
    return InterviewBooked(season=season, booking_id=b.booking_id, invitation_id=b.invitation_id,
                           applicant_id=b.applicant_id, program_code=b.program_code, type_id=b.type_id,
                           event_id=e.event_id, start=b.start, end=b.end, forced=b.forced, sequence=b.sequence,
                           at=now, previous_event_id=previous)


def _open_event(svc: Interviews, event_id: str, type_id: str, program_code: str, now: datetime,
                full_check: bool = True) -> InterviewEvent:
    return _check_open(svc.store.event(event_id), event_id, type_id, program_code, now, full_check)


def _check_open(e: InterviewEvent | None, event_id: str, type_id: str, program_code: str, now: datetime,
                full_check: bool = True) -> InterviewEvent:
    if e is None or e.program_code != program_code:
        raise NotFound(f"event {event_id} is not an event of program {program_code}")
    if e.type_id != type_id:
        raise ValidationFailed("the event is of another interview type",
                               errors=[FieldError("event_id", f"is not an event of type {type_id}")])
    require_before_lockout(e, now, "this event")  # I5
    if full_check and e.booked >= e.capacity:  # turned away without a write (the condition decides the rest)
        raise EventFull(f"the event {e.event_id} is full: its {e.capacity} seats are booked (I4: an event never "
                        "holds more bookings than its capacity)", rule="I4",
                        extra={"i4": "capacity", "event_id": e.event_id, "capacity": e.capacity})
    return e


class Booked(NamedTuple):
    """A booking made, with the time zones its answer shows (the applicant's and the event's, as
    read for the booking: no second read)."""
    booking: Booking
    applicant_timezone: str | None
    event_timezone: str | None


def book(svc: Interviews, principal: Principal | None, invitation_id: str, type_id: str, event_id: str,
         token: str | None = None, idempotency_key: str | None = None) -> Booking:
    return book_zoned(svc, principal, invitation_id, type_id, event_id, token, idempotency_key).booking


def book_zoned(svc: Interviews, principal: Principal | None, invitation_id: str, type_id: str, event_id: str,
               token: str | None = None, idempotency_key: str | None = None) -> Booked:
    """The applicant's booking (I4), with the zones its answer shows."""
    scope = link_scope(svc, token) if token else None  # a bad link says so before anything else
    # the invitation, the applicant the link names and the event: one read (a rush is mostly these)
    inv, a, e = svc.store.booking_reads(invitation_id, scope[0] if scope else None, event_id)
    if inv is None:
        raise NotFound(f"invitation {invitation_id} does not exist")
    if scope is None:
        a = require_applicant(svc, principal, inv.applicant_id)
    elif scope != (inv.applicant_id, invitation_id):
        raise Forbidden("this booking link is for another invitation")
    elif a is None:
        raise NotFound(f"applicant {inv.applicant_id} is not known to the interviews service")
    return _book(svc, inv, a, type_id, e, event_id, forced=False, idempotency_key=idempotency_key)


def force_book(svc: Interviews, principal: Principal, code: str, event_id: str, applicant_id: str,
               type_id: str) -> Booking:
    """I5: the program schedules an applicant it invited to this type (no email to the applicant)."""
    _program(svc, principal, code)
    invs = [i for i in svc.store.invitations(applicant_id) if i.program_code == code and type_id in i.type_ids]
    if not invs:
        raise Forbidden(f"applicant {applicant_id} has no invitation of program {code} to this interview type")
    a = svc.store.applicant(applicant_id)
    if a is None:
        raise NotFound(f"applicant {applicant_id} is not known to the interviews service")
    return _book(svc, invs[0], a, type_id, svc.store.event(event_id), event_id, forced=True).booking


def _book(svc: Interviews, inv: Invitation, a: ApplicantInfo, type_id: str, read: InterviewEvent | None,
          event_id: str, *, forced: bool, idempotency_key: str | None = None) -> Booked:
    """`read`: the event as read (None: there is none)."""
    if type_id not in inv.type_ids:
        raise Conflict(f"the invitation does not name interview type {type_id} (I4: one booking per invited type)",
                       rule="I4", extra={"i4": "not_invited", "type_id": type_id})
    now = svc.platform.clock.now()
    e = _check_open(read, event_id, type_id, inv.program_code, now, full_check=not idempotency_key)
    booking_id = (uuid.uuid5(uuid.NAMESPACE_URL, f"caspr:booking:{inv.applicant_id}:{idempotency_key}").hex
                  if idempotency_key else uuid.uuid4().hex)
    b = Booking(booking_id=booking_id, invitation_id=inv.invitation_id, applicant_id=inv.applicant_id,
                program_code=inv.program_code, type_id=type_id, event_id=e.event_id, start=e.start, end=e.end,
                status="booked", sequence=1, booked_at=now, forced=forced, updated_at=now)
    p = svc.store.program(inv.program_code)
    mails = [] if forced else [emails.booked(a, p, b, e)]
    try:
        _retrying(lambda: svc.store.book(b, e, now, [_booked_event(b, e, inv.season, now)], mails))
    except Conflict as exc:
        if idempotency_key and exc.extra.get("booking_id") == booking_id:  # a retry of the same request
            done = svc.store.booking(booking_id)
            if done is not None:
                return Booked(done, a.timezone, e.timezone)
        raise
    return Booked(b, a.timezone, e.timezone)


def _own_booking(svc: Interviews, principal: Principal | None, booking_id: str, token: str | None) -> Booking:
    b = svc.store.booking(booking_id)
    if b is None:
        raise NotFound(f"booking {booking_id} does not exist")
    if principal is not None and principal.role == "program":
        require_program(principal, b.program_code)
    else:
        require_applicant(svc, principal, b.applicant_id, token, None)
        if token and link_scope(svc, token)[1] != b.invitation_id:
            raise Forbidden("this booking link is for another invitation")
    if b.status != "booked":
        raise Conflict(f"booking {booking_id} is cancelled", rule="I5")
    return b


def rebook(svc: Interviews, principal: Principal | None, booking_id: str, event_id: str,
           token: str | None = None) -> Booking:
    """I5: into another open event of the same type, until the lockout of both events."""
    old = _own_booking(svc, principal, booking_id, token)
    now = svc.platform.clock.now()
    old_event = svc.store.event(old.event_id)
    if old_event is None:
        raise NotFound(f"event {old.event_id} no longer exists")
    require_before_lockout(old_event, now, f"booking {booking_id}")
    if event_id == old.event_id:
        return old
    new_event = _open_event(svc, event_id, old.type_id, old.program_code, now)
    new = replace(old, event_id=new_event.event_id, start=new_event.start, end=new_event.end,
                  sequence=old.sequence + 1, updated_at=now)
    a = svc.store.applicant(old.applicant_id)
    p = svc.store.program(old.program_code)
    season = p.season if p else new_event.season
    mails = [emails.booked(a, p, new, new_event, rebooked=True)] if a and p else []
    _retrying(lambda: svc.store.rebook(old, new, old_event, new_event, now,
                                       [_booked_event(new, new_event, season, now, old.event_id)], mails))
    return new


def cancel(svc: Interviews, principal: Principal | None, booking_id: str, token: str | None = None) -> Booking:
    b = _own_booking(svc, principal, booking_id, token)
    now = svc.platform.clock.now()
    e = svc.store.event(b.event_id)
    if e is None:
        raise NotFound(f"event {b.event_id} no longer exists")
    require_before_lockout(e, now, f"booking {booking_id}")  # I5
    return _retrying(lambda: svc.store.cancel(b, e, now, [InterviewBookingCancelled(
        season=e.season, booking_id=b.booking_id, applicant_id=b.applicant_id, program_code=b.program_code,
        type_id=b.type_id, event_id=b.event_id, sequence=b.sequence + 1, at=now)], []))


# ----------------------------------------------------------------------------- applicants' view
def applicant_invitations(svc: Interviews, principal: Principal | None, applicant_id: str, token: str | None = None):
    a = require_applicant(svc, principal, applicant_id, token)
    only = link_scope(svc, token)[1] if token else None
    out = []
    for inv in sorted(svc.store.invitations(applicant_id), key=lambda i: i.created_at):
        if only and inv.invitation_id != only:
            continue
        p = svc.store.program(inv.program_code)
        ts = {t.type_id: t for t in svc.store.types(inv.program_code)}
        evs = [e for e in svc.store.events(inv.program_code) if e.type_id in inv.type_ids]
        out.append((inv, p, [ts[t] for t in inv.type_ids if t in ts], sorted(evs, key=lambda e: e.start)))
    bookings = [b for b in svc.store.bookings(applicant_id) if not only or b.invitation_id == only]
    return a, out, bookings


# ----------------------------------------------------------------------------- calendar (.ics)
def calendar_of(svc: Interviews, applicant_id: str) -> str:
    from interviews.calendar import applicant_calendar

    rows = [(b, svc.store.event(b.event_id), svc.store.program(b.program_code))
            for b in svc.store.bookings(applicant_id)]
    return applicant_calendar(rows, svc.platform.clock.now())


def applicant_calendar(svc: Interviews, principal: Principal | None, applicant_id: str,
                       token: str | None = None) -> str:
    require_applicant(svc, principal, applicant_id, token)
    return calendar_of(svc, applicant_id)


def calendar_subscription(svc: Interviews, principal: Principal, applicant_id: str) -> str:
    """A private address for calendar apps (no sign-in); a new one revokes the previous one."""
    require_applicant(svc, principal, applicant_id)
    secret = svc.store.new_calendar_secret(applicant_id)
    return f"{svc.platform.settings.public_base_url.rstrip('/')}/interviews/calendars/{secret}.ics"


def revoke_calendar_subscription(svc: Interviews, principal: Principal, applicant_id: str) -> None:
    require_applicant(svc, principal, applicant_id)
    svc.store.revoke_calendar_secret(applicant_id)


def subscribed_calendar(svc: Interviews, secret: str) -> str:
    applicant_id = svc.store.calendar_owner(secret.removesuffix(".ics"))
    if applicant_id is None:
        raise NotFound("no such calendar address (it may have been revoked)")
    return calendar_of(svc, applicant_id)


# ----------------------------------------------------------------------------- I8
def refund_unbooked(svc: Interviews, season: str, at: datetime) -> int:
    """I8: at interviews_close every registered applicant who never booked through the system is
    due the $250 interview fee back; registration (the ledger's owner) refunds it once per
    applicant (keyed on season + applicant) and tells them."""
    unbooked, announced = svc.store.refund_candidates(season)
    svc.store.announce_refunds({aid: [InterviewFeeRefundDue(season=season, applicant_id=aid,
                                                            amount_cents=INTERVIEW_FEE_CENTS, rule="I8", at=at)]
                                for aid in unbooked if aid not in announced}, at)
    return len(unbooked)


# ----------------------------------------------------------------------------- I5: the daily digest
def send_digests(svc: Interviews) -> int:
    """I5: each program whose schedule changed (bookings, rebookings, cancellations, forced
    bookings) on the previous UTC day gets ONE email listing them, times in the program's zone.
    Each (program, day) commits a "digest committed" item conditioned on its absence together
    with the email's outbox item, so a rerun sends nothing twice; a quiet program's day commits the
    item with no email. Also catches up the few days before (a failed run). Returns emails sent."""
    now = svc.platform.clock.now()
    days = [d for d in digest_days(now) if d > svc.cache.get("digest_done_through", "")]
    if not days:
        return 0  # this process finished these days already (locally the schedule runs every 5 s)
    programs = {p.program_code: p for p in svc.store.programs()}
    sent = 0
    for day in days:
        for code in sorted(set(programs) - svc.store.digests_committed(list(programs), day)):
            p = programs[code]
            changes = svc.store.changes(code, day)
            mails = []
            if changes and p.email:
                mails = [emails.daily_digest(p, day, [(c, svc.store.applicant(c.applicant_id)) for c in changes])]
            elif changes:
                logger.warning("program has no contact email: its daily digest is not sent",
                               extra={"program_code": code, "day": day, "changes": len(changes)})
            if svc.store.commit_digest(code, day, len(changes), now, mails) and mails:
                sent += 1
        svc.cache["digest_done_through"] = day
    return sent


# ----------------------------------------------------------------------------- I1: the event's PDF
def _own_event(svc: Interviews, principal: Principal | None, code: str, event_id: str) -> InterviewEvent:
    _program(svc, principal, code)
    e = svc.store.event(event_id)
    if e is None or e.program_code != code:
        raise NotFound(f"event {event_id} is not an event of program {code}")
    return e


def offer_attachment(svc: Interviews, principal: Principal, code: str, event_id: str, filename: str,
                     size: int) -> dict:
    """I1: a presigned form for the event's PDF (at most 5 MB by the form's policy). The upload is
    pending: the present PDF (if any) stays what applicants get until this one is completed; a
    newer offer replaces an unfinished one (its object, if uploaded, is deleted)."""
    e = _own_event(svc, principal, code, event_id)
    check_attachment_offer(filename, size)
    a = Attachment(event_id=e.event_id, key=attachment_key(code, e.event_id, uuid.uuid4().hex), filename=filename,
                   size=size, status="pending", created_at=svc.platform.clock.now())
    replaced = svc.store.put_attachment(a)
    svc.storage.discard([replaced] if replaced else [], logger)
    return svc.storage.upload_form(a.key, MAX_ATTACHMENT_BYTES)


def complete_attachment(svc: Interviews, principal: Principal, code: str, event_id: str) -> Attachment:
    """I1: the pending upload exists, is a PDF by its bytes and at most 5 MB: it becomes the event's
    present PDF, replacing the one before (deleted from storage after the commit). Completing the
    upload that is present already answers it again."""
    e = _own_event(svc, principal, code, event_id)
    a = svc.store.pending_attachment(e.event_id)
    if a is None:
        present = svc.store.attachment(e.event_id)
        if present is not None:
            return present  # completed already (a retried completion)
        raise NotFound(f"event {event_id} has no attachment upload: ask for one with POST .../attachment first")
    head, size = svc.storage.inspect(a.key)
    check_pdf(head, size)
    done, replaced = svc.store.mark_attachment_present(e.event_id, a.key, size)
    if not done:
        present = svc.store.attachment(e.event_id)
        if present is not None and present.key == a.key:
            return present  # a simultaneous completion of the same upload committed it
        raise Conflict("another upload of this event's PDF was started meanwhile; complete that one", rule="I1")
    svc.storage.discard([replaced] if replaced else [], logger)
    return replace(a, status="present", size=size)


def delete_attachment(svc: Interviews, principal: Principal, code: str, event_id: str) -> None:
    """I1: the event's PDF is removed (and an unfinished upload of it): applicants' links go at
    once; the objects are deleted from storage after the commit."""
    e = _own_event(svc, principal, code, event_id)
    removed = svc.store.remove_attachment(e.event_id)
    if not removed:
        raise NotFound(f"event {event_id} has no PDF")
    svc.storage.discard(removed, logger)


def attachment_link(svc: Interviews, event_id: str) -> tuple[Attachment, str] | None:
    """The event's PDF and a short-lived download link, when present (I1)."""
    a = svc.store.attachment(event_id)
    if a is None or a.status != "present":
        return None
    return a, svc.storage.download_url(a.key)
