"""The applicant's interviews as an RFC 5545 calendar (icalendar): one VEVENT per booking with
a stable UID, SEQUENCE raised on every change (a rebook), a cancelled booking as
STATUS:CANCELLED, so a calendar app that subscribed keeps up."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event

from interviews.domain import I9_NOTICE, Booking, InterviewEvent, ProgramInfo


def applicant_calendar(bookings: list[tuple[Booking, InterviewEvent | None, ProgramInfo | None]],
                       now: datetime) -> str:
    cal = Calendar()
    cal.add("prodid", "-//CASPR//Interviews//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "CASPR interviews")
    for b, e, p in sorted(bookings, key=lambda x: x[0].start):
        v = Event()
        v.add("uid", f"{b.booking_id}@interviews.caspr")
        v.add("sequence", max(0, b.sequence - 1))
        v.add("dtstamp", b.updated_at or b.booked_at or now)
        v.add("dtstart", b.start)
        v.add("dtend", b.end)
        name = f"{p.name} ({p.program_code})" if p else b.program_code
        v.add("summary", f"Interview: {name}")
        if e is not None:
            v.add("location", f"{e.place}: {e.location}".strip(": "))
        v.add("description", f"Booking {b.booking_id}. {I9_NOTICE}")
        v.add("status", "CANCELLED" if b.status == "cancelled" else "CONFIRMED")
        cal.add_component(v)
    return cal.to_ical().decode()
