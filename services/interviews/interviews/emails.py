"""The emails of the interviews service (I2, I4, I9): their texts are domain rules. Written to
the outbox with the change that causes them; sent by the relay."""

from __future__ import annotations

from interviews.domain import (
    I9_NOTICE,
    ApplicantInfo,
    Booking,
    BookingChange,
    InterviewEvent,
    InterviewType,
    Invitation,
    ProgramInfo,
    in_zone,
)
from shared.email import Email


def invitation(a: ApplicantInfo, p: ProgramInfo, inv: Invitation, types: list[InterviewType], link: str) -> Email:
    """I2: the invitation with its unique booking link (books without signing in); I9's rule."""
    names = "\n".join(f"- {t.name}: {t.description}" for t in types)
    return Email(
        to=a.email, subject=f"CASPR: interview invitation from {p.name} ({p.program_code})",
        body=(f"Dear {a.first_name} {a.last_name},\n\n{p.name} ({p.program_code}) invites you to interview:\n{names}\n\n"
              f"{inv.message}\n\nBook your interview time (no sign-in needed; this link is yours alone):\n{link}\n\n"
              f"You can also see this invitation when you sign in to CASPR.\n\n{I9_NOTICE}\n\nCASPR\n"))


def booked(a: ApplicantInfo, p: ProgramInfo | None, b: Booking, e: InterviewEvent, rebooked: bool = False) -> Email:
    """I4, I6: the confirmation, in the applicant's time zone and the program's."""
    name = f"{p.name} ({p.program_code})" if p else b.program_code
    what = "moved to" if rebooked else "booked for"
    return Email(
        to=a.email, subject=f"CASPR: your interview with {name} is {what} {in_zone(b.start, a.timezone)}",
        body=(f"Dear {a.first_name} {a.last_name},\n\nyour interview with {name} is {what}:\n"
              f"{in_zone(b.start, a.timezone)} to {in_zone(b.end, a.timezone)} ({a.timezone})\n"
              f"{in_zone(b.start, e.timezone)} to {in_zone(b.end, e.timezone)} ({e.timezone}, the program's)\n"
              f"Place: {e.place}, {e.location}\nBooking: {b.booking_id}\n\n"
              f"You can rebook or cancel until {in_zone(e.lockout_at, a.timezone)}.\n\n{I9_NOTICE}\n\nCASPR\n"))


def event_cancelled(a: ApplicantInfo, p: ProgramInfo, b: Booking, e: InterviewEvent) -> Email:
    """I1: the program deleted the event the applicant had booked."""
    return Email(
        to=a.email, subject=f"CASPR: {p.name} ({p.program_code}) cancelled your interview of "
                            f"{in_zone(b.start, a.timezone)}",
        body=(f"Dear {a.first_name} {a.last_name},\n\n{p.name} ({p.program_code}) cancelled the interview event you "
              f"had booked ({in_zone(b.start, a.timezone)}, {a.timezone}). Your booking {b.booking_id} is cancelled; "
              "you may book another time of the same interview type from your invitation.\n\nCASPR\n"))


def daily_digest(p: ProgramInfo, day: str, changes: list[tuple[BookingChange, ApplicantInfo | None]]) -> Email:
    """I5: the program's daily digest of its schedule's changes on one UTC day: applicant, what
    happened, the interview's time in the event's (the program's) zone."""
    lines = []
    for c, a in sorted(changes, key=lambda x: x[0].at):
        who = f"{a.first_name} {a.last_name}" if a else f"applicant {c.applicant_id}"
        when = f"{in_zone(c.start, c.timezone)} to {in_zone(c.end, c.timezone)} ({c.timezone})"
        if c.kind == "rebooked":
            what = f"rebooked to {when}" + (f", was {in_zone(c.previous_start, c.timezone)}"
                                             if c.previous_start else "")
        elif c.kind == "cancelled":
            what = f"cancelled {when}"
        else:
            what = f"{'force-scheduled by the program' if c.forced else 'booked'} {when}"
        lines.append(f"- {who}: {what} (booking {c.booking_id})")
    return Email(
        to=p.email or "", subject=f"CASPR: interview schedule changes of {p.name} ({p.program_code}) on {day}",
        body=(f"Dear {p.name} ({p.program_code}),\n\nyour interview schedule changed on {day} (UTC day), "
              f"{len(lines)} change(s):\n" + "\n".join(lines)
              + f"\n\nYour schedule: GET /interviews/programs/{p.program_code}/schedule\n\n{I9_NOTICE}\n\nCASPR\n"))
