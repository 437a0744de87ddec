"""The interview pages (issue 11) in a real headless Chromium against the running local stack:
web/interviews-program.js (#/scheduling) and web/interviews.js (#/interviews).

(a) the program signs in, creates a type and its events (times typed in the program's zone,
    Pacific), invites a delivered applicant; the applicant signs in, sees the invitation (its
    message and I9's rule) in its own zone (Central, I6's default) and the program's, books,
    rebooks, cancels, sees an event past its lockout offered no change (I5), downloads calendar.ics
    and creates its private subscription address.
(b) the program sees an applicant's booking on its schedule, force-schedules another one (I5),
    is refused a capacity below the bookings in plain words with the API detail (I1), and
    deletes an empty event.
Screenshots land in /tmp/caspr-pages-interviews-*.png."""

from __future__ import annotations

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from shared.clock import parse_instant

from .test_interviews_e2e import (
    deliver,
    invite_all,
    make_type_and_event,
    register_paid,
    season_with_programs,
    wait_for,
)
from .test_pages_e2e import browser, sign_in, tabs, wait_for_notice  # noqa: F401 (fixtures)
from .test_scores_e2e import applicant

pytestmark = pytest.mark.e2e
CHICAGO = ZoneInfo("America/Chicago")
PACIFIC = ZoneInfo("America/Los_Angeles")


def wall(t, zone) -> str:
    """What a datetime-local input takes: the wall time in a zone."""
    return t.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def program_account(stack, code: str) -> dict:
    session, account = stack.new_account("program", program_code=code)
    wait_for(lambda: session.get(f"{stack.url}/interviews/programs/{code}/types", timeout=30).status_code == 200,
             f"program {code} to reach the interviews service")
    return account


def shown(page, locator) -> None:
    """Waits for a locator; on timeout fails with what the page shows instead."""
    try:
        locator.wait_for()
    except Exception as exc:  # playwright's TimeoutError
        raise AssertionError(f"not shown; the page shows: {page.locator('#view').inner_html()[:3000]}") from exc


def test_pages_program_creates_and_invites_applicant_books_rebooks_cancels_in_its_time_zone(stack, tabs):  # noqa: F811
    season, cal, (code,) = season_with_programs(stack, 1, past=True)
    a = applicant(stack, season)
    deliver(stack, season, [(a["id"], code)])
    wait_for(lambda: a["session"].get(f"{stack.url}/interviews/applicants/{a['id']}/invitations",
                                      timeout=30).status_code == 200, "the interviews service to know the applicant")
    p = program_account(stack, code)
    day = (parse_instant(cal["non_crip_interviews_from"]) + timedelta(days=2)).astimezone(PACIFIC)
    first = day.replace(hour=9, minute=0, second=0, microsecond=0)
    second = first + timedelta(hours=2)
    third = first + timedelta(hours=4)

    # ---- the program: a type, three events in Pacific time (the third already locked), an invitation
    prog = tabs("interviews-program")
    sign_in(prog, p["email"], p["password"])
    page = prog.goto("/#/scheduling")
    page.locator("[data-testid=type-form] [name=name]").fill("Faculty interview")
    page.locator("[data-testid=type-form] button[type=submit]").click()
    wait_for_notice(page, "Interview type created.")
    page.locator("[data-testid=type]").first.wait_for()
    form = page.locator("[data-testid=event-form]")
    for n, (start, lockout) in enumerate([(first, None), (second, None),
                                          (third, stack.now() - timedelta(hours=1))], start=1):
        form.locator("[name=start]").fill(wall(start, PACIFIC))
        form.locator("[name=end]").fill(wall(start + timedelta(minutes=30), PACIFIC))
        form.locator("[name=timezone]").select_option("America/Los_Angeles")
        form.locator("[name=capacity]").fill("2")
        form.locator("[name=place]").select_option("virtual")
        form.locator("[name=location]").fill("video call")
        form.locator("[name=lockout_at]").fill(wall(lockout, PACIFIC) if lockout else "")
        form.locator("button[type=submit]").click()
        page.wait_for_function(f"document.querySelectorAll('[data-testid=event]').length === {n}")
    events = page.locator("[data-testid=event]")
    ids = [events.nth(i).get_attribute("data-event-id") for i in range(3)]  # sorted by start
    assert "PST" in events.first.inner_text() or "PDT" in events.first.inner_text()

    invite = page.locator("[data-testid=invite-form]")
    deadline = time.monotonic() + 300
    while True:  # 403 (I2) while the delivery is still on its way to the interviews service
        invite.locator("[name=applicant_id]").fill(a["id"])
        invite.locator("[data-testid=invite-type]").first.check()
        invite.locator("[name=message]").fill("We look forward to meeting you.")
        invite.locator("button[type=submit]").click()
        page.wait_for_selector("[data-testid=scheduling-out] .notice")
        if page.locator("text=Invitation sent.").count():
            break
        assert time.monotonic() < deadline, page.locator("[data-testid=scheduling-out]").inner_text()
        time.sleep(1)
    prog.shot("invited")

    # ---- the applicant: the invitation in its zone (Central) and the program's (Pacific)
    app = tabs("interviews-applicant")
    sign_in(app, a["email"], a["password"])
    page = app.goto("/#/interviews")
    card = page.locator("[data-testid=interviews-card]")
    shown(page, card.locator("[data-testid=invitation]"))
    assert card.locator("[data-testid=invitation-message]").inner_text() == "We look forward to meeting you."
    assert "I9" in card.locator("[data-testid=communication-rule]").inner_text()
    assert "America/Chicago" in card.locator("[data-testid=timezone-note]").inner_text()
    row1 = card.locator(f"[data-testid=open-event][data-event-id='{ids[0]}']")
    assert row1.get_attribute("data-start-applicant") == first.astimezone(CHICAGO).isoformat()
    assert first.astimezone(CHICAGO).strftime("%Z") in row1.locator("[data-testid=your-time]").inner_text()
    assert first.strftime("%Z") in row1.locator("[data-testid=program-time]").inner_text()
    hour = first.astimezone(CHICAGO).strftime("%-I:%M")
    assert hour in row1.locator("[data-testid=your-time]").inner_text()
    locked = card.locator(f"[data-testid=open-event][data-event-id='{ids[2]}']")
    assert "locked (I5)" in locked.inner_text() and locked.locator("button").count() == 0

    row1.locator("[data-testid=book]").click()
    wait_for_notice(page, "Booked:")
    booking = card.locator("[data-testid=booking]")
    assert booking.get_attribute("data-event-id") == ids[0] and booking.get_attribute("data-status") == "booked"
    assert card.locator(f"[data-testid=open-event][data-event-id='{ids[0]}']").inner_text().count("your booking") == 1

    booking.locator("[data-testid=rebook-pick]").select_option(ids[1])  # the locked third is not offered
    assert booking.locator("[data-testid=rebook-pick] option").count() == 1
    booking.locator("[data-testid=rebook]").click()
    wait_for_notice(page, "Moved:")
    assert card.locator("[data-testid=booking]").get_attribute("data-event-id") == ids[1]
    app.shot("rebooked")

    card.locator("[data-testid=booking] [data-testid=cancel]").click()
    wait_for_notice(page, "Booking cancelled.")
    assert card.locator("[data-testid=booking]").get_attribute("data-status") == "cancelled"
    assert card.locator("[data-testid=booking] [data-testid=cancel]").count() == 0

    link = card.locator("[data-testid=calendar-link]")
    assert link.get_attribute("href") == f"/interviews/applicants/{a['id']}/calendar.ics"
    with page.expect_download() as download:
        link.click()
    assert "BEGIN:VCALENDAR" in open(download.value.path()).read()
    card.locator("[data-testid=calendar-subscribe]").click()
    wait_for_notice(page, "Your private calendar address is ready.")
    address = card.locator("[data-testid=calendar-address]").input_value()
    assert address.startswith(stack.url) and address.endswith(".ics"), address
    ics = requests.get(address, timeout=30)  # no sign-in
    assert ics.status_code == 200 and "STATUS:CANCELLED" in ics.text, (address, ics.text[:300])
    app.shot("cancelled")


def test_pages_program_schedule_shows_the_booking_and_force_schedules_another(stack, tabs):  # noqa: F811
    season, cal, (code,) = season_with_programs(stack, 1, past=True)
    booker, forced = register_paid(stack, season, 2)
    deliver(stack, season, [(booker["id"], code), (forced["id"], code)])
    p = program_account(stack, code)
    day = parse_instant(cal["non_crip_interviews_from"]) + timedelta(days=1)
    type_id, event_id = make_type_and_event(stack, code, day, capacity=3)
    _, empty_id = make_type_and_event(stack, code, day + timedelta(hours=3), capacity=1)
    invitations = invite_all(stack, code, type_id, [booker["id"], forced["id"]])
    r = stack.admin.post(f"{stack.url}/interviews/invitations/{invitations[booker['id']]}/bookings",
                         json={"type_id": type_id, "event_id": event_id}, timeout=60)
    assert r.status_code == 201, r.text

    prog = tabs("interviews-schedule")
    sign_in(prog, p["email"], p["password"])
    page = prog.goto("/#/scheduling")
    event = page.locator(f"[data-testid=schedule-event][data-event-id='{event_id}']")
    shown(page, event.locator(f"[data-testid=scheduled-booking][data-applicant-id='{booker['id']}']"))
    assert "booked by the applicant" in event.inner_text()

    event.locator("[data-testid=force-applicant]").fill(forced["id"])
    event.locator("[data-testid=force-form] button[type=submit]").click()
    wait_for_notice(page, "Scheduled.")
    row = page.locator(f"[data-testid=schedule-event][data-event-id='{event_id}'] "
                       f"[data-testid=scheduled-booking][data-applicant-id='{forced['id']}']")
    assert "force-scheduled" in row.inner_text()
    booked = page.locator(f"[data-testid=event][data-event-id='{event_id}'] [data-testid=event-booked]")
    assert booked.inner_text() == "2 / 3"

    # I1: a capacity below the bookings is refused, in plain words with the API's detail
    ev = page.locator(f"[data-testid=event][data-event-id='{event_id}']")
    ev.locator("[data-testid=capacity-input]").fill("1")
    ev.locator("[data-testid=capacity-save]").click()
    page.locator("[data-testid=refusal]").wait_for()
    assert page.locator("[data-testid=refusal] [data-testid=problem]").inner_text().strip()
    ev.locator("[data-testid=capacity-input]").fill("4")
    ev.locator("[data-testid=capacity-save]").click()
    wait_for_notice(page, "Capacity saved.")
    assert page.locator(f"[data-testid=event][data-event-id='{event_id}'] [data-testid=event-booked]"
                        ).inner_text() == "2 / 4"

    gone = page.locator(f"[data-testid=event][data-event-id='{empty_id}']")
    gone.locator("[data-testid=delete]").click()
    gone.locator("[data-testid=delete-confirm]").click()
    wait_for_notice(page, "Event deleted.")
    assert page.locator(f"[data-testid=event][data-event-id='{empty_id}']").count() == 0
    prog.shot("forced")

    schedule = stack.admin.get(f"{stack.url}/interviews/programs/{code}/schedule", timeout=60).json()["events"]
    (got,) = [e for e in schedule if e["event_id"] == event_id]
    assert sorted((b["applicant_id"], b["forced"]) for b in got["bookings"]) == sorted(
        [(booker["id"], False), (forced["id"], True)])
