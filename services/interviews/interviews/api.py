"""HTTP routes of the interviews service (base path /interviews): parse, call a use case,
serialize. Nothing else."""

from __future__ import annotations

from chalice import Response

from interviews import bootstrap, handlers, pages
from interviews.domain import I9_NOTICE, Booking, InterviewEvent, InterviewType, Invitation, in_zone
from interviews.schemas import (
    ApplicantInvitation,
    ApplicantInvitations,
    AttachmentIn,
    AttachmentLink,
    AttachmentOut,
    AttachmentUploadOut,
    BookingIn,
    BookingOut,
    CalendarAddress,
    EventDeleted,
    EventIn,
    EventList,
    EventOut,
    EventPatch,
    ForceBookingIn,
    Health,
    InvitationIn,
    InvitationOut,
    OpenEvent,
    RebookIn,
    ScheduledEvent,
    ScheduleOut,
    ScheduleQuery,
    TokenQuery,
    TypeIn,
    TypeList,
    TypeOut,
    Upload,
)
from shared import health
from shared.web import PUBLIC, ApiBlueprint

bp = ApiBlueprint(__name__, tag="interviews", verifier=lambda: bootstrap.container().platform.verifier)
PROGRAM = ("program", "admin")
PEOPLE = ("applicant", "program", "admin")


def svc() -> bootstrap.Interviews:
    return bootstrap.container()


def type_out(t: InterviewType) -> TypeOut:
    return TypeOut(type_id=t.type_id, program_code=t.program_code, season=t.season, name=t.name,
                   description=t.description)


def event_out(e: InterviewEvent) -> EventOut:
    return EventOut(event_id=e.event_id, program_code=e.program_code, type_id=e.type_id, start=e.start, end=e.end,
                    start_local=in_zone(e.start, e.timezone), capacity=e.capacity, booked=e.booked,
                    seats_left=e.seats_left, place=e.place, location=e.location, timezone=e.timezone,
                    lockout_at=e.lockout_at)


def booking_out(b: Booking, applicant_tz: str | None = None, program_tz: str | None = None) -> BookingOut:
    return BookingOut(booking_id=b.booking_id, invitation_id=b.invitation_id, applicant_id=b.applicant_id,
                      program_code=b.program_code, type_id=b.type_id, event_id=b.event_id, start=b.start, end=b.end,
                      start_applicant=in_zone(b.start, applicant_tz) if applicant_tz else None,
                      start_program=in_zone(b.start, program_tz) if program_tz else None, status=b.status,
                      sequence=b.sequence, forced=b.forced)


def invitation_out(i: Invitation) -> InvitationOut:
    return InvitationOut(invitation_id=i.invitation_id, program_code=i.program_code, applicant_id=i.applicant_id,
                         type_ids=list(i.type_ids), message=i.message, created_at=i.created_at,
                         communication_rule=I9_NOTICE)


def _attachment(event_id: str) -> AttachmentLink | None:
    found = handlers.attachment_link(svc(), event_id)
    if found is None:
        return None
    a, url = found
    return AttachmentLink(filename=a.filename, size=a.size, url=url)


def _zones(b: Booking) -> tuple[str | None, str | None]:
    a = svc().store.applicant(b.applicant_id)
    e = svc().store.event(b.event_id)
    return (a.timezone if a else None), (e.timezone if e else None)


@bp.endpoint("/health", "GET", summary="Health of the interviews service (table and queue reachable)",
             response=Health, roles=PUBLIC)
def get_health():
    return health.check("interviews", svc().platform.settings)


# ----------------------------------------------------------------------------- programs
@bp.endpoint("/programs/{code}/types", "POST", summary="Define an interview type (I1; COTH programs only, I3)",
             body=TypeIn, response=TypeOut, status=201, roles=PROGRAM, errors=(401, 403, 404, 422))
def post_type(code: str, body: TypeIn, principal):
    return type_out(handlers.add_type(svc(), principal, code, body.name, body.description))


@bp.endpoint("/programs/{code}/types", "GET", summary="A program's interview types", response=TypeList,
             roles=PEOPLE, errors=(401, 403, 404, 422))
def get_types(code: str, principal):
    scope = principal if principal.role == "program" else None
    return TypeList(types=[type_out(t) for t in handlers.types(svc(), scope, code)])


@bp.endpoint("/programs/{code}/events", "POST", summary="Add an interview event of a type (I1; CRIP window, I7; "
             "COTH only, I3)", body=EventIn, response=EventOut, status=201, roles=PROGRAM,
             errors=(401, 403, 404, 422))
def post_event(code: str, body: EventIn, principal):
    e = handlers.add_event(svc(), principal, code, type_id=body.type_id, start=body.start, end=body.end,
                           capacity=body.capacity, place=body.place, location=body.location,
                           timezone=body.timezone, lockout_at=body.lockout_at)
    return event_out(e)


@bp.endpoint("/programs/{code}/events", "GET", summary="A program's interview events with their free seats",
             response=EventList, roles=PROGRAM, errors=(401, 403, 404, 422))
def get_events(code: str, principal):
    return EventList(events=[event_out(e) for e in handlers.events(svc(), principal, code)])


@bp.endpoint("/programs/{code}/events/{event_id}", "PATCH", summary="Change an event (I1): a booked event cannot "
             "shrink below its bookings nor move", body=EventPatch, response=EventOut, roles=PROGRAM,
             errors=(401, 403, 404, 409, 422))
def patch_event(code: str, event_id: str, body: EventPatch, principal):
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    return event_out(handlers.change_event(svc(), principal, code, event_id, changes))


@bp.endpoint("/programs/{code}/events/{event_id}", "DELETE", summary="Delete an event (I1): its bookings are "
             "cancelled and the booked applicants told by email", response=EventDeleted, roles=PROGRAM,
             errors=(401, 403, 404, 409))
def delete_event(code: str, event_id: str, principal):
    return EventDeleted(event_id=event_id, bookings_cancelled=handlers.delete_event(svc(), principal, code, event_id))


@bp.endpoint("/programs/{code}/invitations", "POST", summary="Invite an applicant delivered to the program to "
             "interview types (I2: from invitations_open; emails a booking link)", body=InvitationIn,
             response=InvitationOut, status=201, roles=PROGRAM, errors=(401, 403, 404, 422))
def post_invitation(code: str, body: InvitationIn, principal):
    return invitation_out(handlers.invite(svc(), principal, code, body.applicant_id, body.type_ids, body.message))


@bp.endpoint("/programs/{code}/schedule", "GET", summary="Every event of the program with its bookings",
             query=ScheduleQuery, response=ScheduleOut, roles=PROGRAM, errors=(401, 403, 404, 422))
def get_schedule(code: str, query: ScheduleQuery, principal):
    rows = handlers.schedule(svc(), principal, code, query.from_, query.to)
    return ScheduleOut(program_code=code, events=[
        ScheduledEvent(**event_out(e).model_dump(), bookings=[booking_out(b, None, e.timezone) for b in bs])
        for e, bs in rows])


@bp.endpoint("/programs/{code}/events/{event_id}/bookings", "POST", summary="Force-schedule an invited applicant "
             "into an event (I5: the same rules as booking, no email)", body=ForceBookingIn, response=BookingOut,
             status=201, roles=PROGRAM, errors=(401, 403, 404, 409, 422))
def post_forced_booking(code: str, event_id: str, body: ForceBookingIn, principal):
    b = handlers.force_book(svc(), principal, code, event_id, body.applicant_id, body.type_id)
    return booking_out(b, *_zones(b))


@bp.endpoint("/programs/{code}/events/{event_id}/attachment", "POST", summary="Offer an upload of the event's "
             "optional PDF (I1): the browser POSTs it to the presigned form returned, then asks for its completion",
             body=AttachmentIn, response=AttachmentUploadOut, status=201, roles=PROGRAM,
             errors=(401, 403, 404, 422))
def post_attachment(code: str, event_id: str, body: AttachmentIn, principal):
    upload = handlers.offer_attachment(svc(), principal, code, event_id, body.filename, body.size)
    return AttachmentUploadOut(upload=Upload(**upload))


@bp.endpoint("/programs/{code}/events/{event_id}/attachment/completion", "POST", summary="Check the uploaded PDF "
             "(exists, a PDF by its bytes, at most 5 MB) and mark it present (I1)", response=AttachmentOut,
             roles=PROGRAM, errors=(401, 403, 404, 409, 422))
def post_attachment_completion(code: str, event_id: str, principal):
    a = handlers.complete_attachment(svc(), principal, code, event_id)
    return AttachmentOut(event_id=a.event_id, filename=a.filename, size=a.size, status=a.status)


@bp.endpoint("/programs/{code}/events/{event_id}/attachment", "DELETE", summary="Remove the event's PDF (I1), "
             "and any unfinished upload of it: applicants no longer get a link", status=204, roles=PROGRAM,
             errors=(401, 403, 404, 409))
def delete_attachment(code: str, event_id: str, principal):
    handlers.delete_attachment(svc(), principal, code, event_id)
    return Response(body="", status_code=204)


# ----------------------------------------------------------------------------- applicants
@bp.endpoint("/invitations/{invitation_id}/bookings", "POST", summary="Book an event of an invited type (I4), by "
             "the applicant's sign-in or the booking link's ?token=", body=BookingIn, query=TokenQuery,
             response=BookingOut, status=201, roles=PUBLIC, errors=(401, 403, 404, 409, 422))
def post_booking(invitation_id: str, body: BookingIn, query: TokenQuery, principal, idempotency_key):
    return booking_out(*handlers.book_zoned(svc(), principal, invitation_id, body.type_id, body.event_id,
                                            token=query.token, idempotency_key=idempotency_key))


@bp.endpoint("/bookings/{booking_id}", "PUT", summary="Rebook into another event of the same type, until the "
             "lockout (I5)", body=RebookIn, query=TokenQuery, response=BookingOut, roles=PUBLIC,
             errors=(401, 403, 404, 409, 422))
def put_booking(booking_id: str, body: RebookIn, query: TokenQuery, principal):
    b = handlers.rebook(svc(), principal, booking_id, body.event_id, token=query.token)
    return booking_out(b, *_zones(b))


@bp.endpoint("/bookings/{booking_id}", "DELETE", summary="Cancel a booking, until the lockout (I5)",
             query=TokenQuery, response=BookingOut, roles=PUBLIC, errors=(401, 403, 404, 409, 422))
def delete_booking(booking_id: str, query: TokenQuery, principal):
    b = handlers.cancel(svc(), principal, booking_id, token=query.token)
    return booking_out(b, *_zones(b))


@bp.endpoint("/applicants/{applicant_id}/invitations", "GET", summary="The applicant's invitations, their types "
             "and open events, and bookings; times in the applicant's time zone (I6) and the program's",
             query=TokenQuery, response=ApplicantInvitations, roles=PUBLIC, errors=(401, 403, 404, 422))
def get_applicant_invitations(applicant_id: str, query: TokenQuery, principal):
    a, rows, bookings = handlers.applicant_invitations(svc(), principal, applicant_id, query.token)
    tz = a.timezone
    out = []
    for inv, p, types, events in rows:
        out.append(ApplicantInvitation(
            invitation_id=inv.invitation_id, program_code=inv.program_code, program_name=p.name if p else None,
            message=inv.message, created_at=inv.created_at, types=[type_out(t) for t in types],
            communication_rule=I9_NOTICE,
            events=[OpenEvent(event_id=e.event_id, type_id=e.type_id, start=e.start, end=e.end,
                              start_applicant=in_zone(e.start, tz), end_applicant=in_zone(e.end, tz),
                              start_program=in_zone(e.start, e.timezone), end_program=in_zone(e.end, e.timezone),
                              program_timezone=e.timezone, seats_left=e.seats_left, place=e.place,
                              location=e.location, lockout_at=e.lockout_at,
                              attachment=_attachment(e.event_id)) for e in events]))
    return ApplicantInvitations(applicant_id=applicant_id, timezone=tz, invitations=out,
                                bookings=[booking_out(b, tz, None) for b in bookings])


@bp.endpoint("/book", "GET", summary="The booking page of an invitation email's link (works without signing in)",
             query=TokenQuery, roles=PUBLIC, errors=(401,))
def get_booking_page(query: TokenQuery):
    return Response(body=pages.booking_page(), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                             "Referrer-Policy": "no-referrer"})


ICS = {"Content-Type": "text/calendar; charset=utf-8", "Cache-Control": "no-store"}


@bp.endpoint("/applicants/{applicant_id}/calendar.ics", "GET", summary="The applicant's interviews as an "
             "iCalendar file (RFC 5545): one VEVENT per booking, SEQUENCE raised on a rebook, cancelled ones "
             "STATUS:CANCELLED", query=TokenQuery, roles=PUBLIC, errors=(401, 403, 404))
def get_calendar(applicant_id: str, query: TokenQuery, principal):
    return Response(body=handlers.applicant_calendar(svc(), principal, applicant_id, query.token),
                    status_code=200, headers=ICS)


@bp.endpoint("/applicants/{applicant_id}/calendar-address", "POST", summary="A private calendar subscription "
             "address (no sign-in); a new one revokes the previous one", response=CalendarAddress, status=201,
             roles=("applicant", "admin"), errors=(401, 403, 404))
def post_calendar_address(applicant_id: str, principal):
    return CalendarAddress(url=handlers.calendar_subscription(svc(), principal, applicant_id))


@bp.endpoint("/applicants/{applicant_id}/calendar-address", "DELETE", summary="Revoke the private calendar "
             "address", status=204, roles=("applicant", "admin"), errors=(401, 403, 404))
def delete_calendar_address(applicant_id: str, principal):
    handlers.revoke_calendar_subscription(svc(), principal, applicant_id)
    return Response(body="", status_code=204)


@bp.endpoint("/calendars/{secret}", "GET", summary="A private calendar subscription address "
             "(/calendars/{secret}.ics, no sign-in)", roles=PUBLIC, errors=(404,))
def get_subscribed_calendar(secret: str):
    return Response(body=handlers.subscribed_calendar(svc(), secret), status_code=200, headers=ICS)
