"""Interviews on the running local stack: registration's applicants and programs reach the
interviews service through the bus; deliveries are announced as the applications service
announces them (application.delivered.v1 on the bus); the program invites from
invitations_open on the local clock; applicants book from their emailed links, without
signing in, all at once.

- 1,000 applicants, each with an invitation, all booking 100 seats (10 events x 10) at once:
  exactly 100 bookings, no event over capacity (the program's schedule), every other attempt a
  clean 409 naming I4, nothing left queued afterwards.
- one applicant booking 10 overlapping events of 10 programs at once: exactly 1 booking."""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from shared.clock import iso, parse_instant

pytestmark = pytest.mark.e2e
CARD = "4242424242424242"
LINK = re.compile(r"https?://\S+/interviews/book\?token=(\S+)")
_codes = iter(range(700, 1000))


def registration(season: str, email: str) -> dict:
    return {"season": season, "first_name": "Ada", "last_name": "Lovelace", "email": email,
            "cms_id": f"EEE-{uuid.uuid4().hex[:9].upper()}", "college": "TUSPM", "graduation_year": 2024}


def program(season: str, code: str) -> dict:
    return {"season": season, "program_code": code, "name": f"Program {code}", "city": "Chicago", "state": "IL",
            "coth": True, "crip": False, "contact": {"name": "Director"},
            "tracks": [{"track_code": f"{code}1", "name": "PMSR/RRA", "positions": 2}]}


def sessions(stack):
    local = threading.local()

    def session():
        if not hasattr(local, "s"):
            local.s = stack.session(stack.admin.headers["Authorization"].removeprefix("Bearer "))
        return local.s

    return session


def register_paid(stack, season: str, n: int, workers: int = 8) -> list[dict]:
    """n registered (paid) applicants, registered by the administrator on their behalf."""
    session = sessions(stack)
    url = f"{stack.url}/registration/applicants"

    def one(i):
        email = f"iv{i}-{uuid.uuid4().hex[:8]}@e2e.caspr"
        r = session().post(url, json=registration(season, email), timeout=120)
        assert r.status_code == 201, r.text
        aid = r.json()["applicant_id"]
        p = session().post(f"{url}/{aid}/payments", json={"amount_cents": 55_000, "card_number": CARD},
                           headers={"Idempotency-Key": f"pay-{aid}"}, timeout=120)
        assert p.status_code == 201, p.text
        return {"id": aid, "email": email}

    first = [one(0)]
    with ThreadPoolExecutor(workers) as pool:
        return first + list(pool.map(one, range(1, n)))


def deliver(stack, season: str, pairs: list[tuple[str, str]]) -> None:
    """What the applications service announces at applications_delivered (A5)."""
    from shared.contracts import ApplicationDelivered
    from shared.events import EventBridgePublisher
    from shared.settings import Settings

    now = stack.now()
    bus = EventBridgePublisher(Settings.from_env().event_bus)
    events = [ApplicationDelivered(season=season, applicant_id=a, program_code=c, round="match", designated_at=now,
                                   delivered_at=now) for a, c in pairs]
    for i in range(0, len(events), 10):
        bus.publish(*events[i:i + 10])


def wait_for(check, what: str, timeout: float = 300.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def season_with_programs(stack, n_programs: int, past: bool = False, far_after: str | None = None):
    """A new season and its programs; `past`: its invitations_open passed a few minutes ago (its
    earlier instants fire at once, with nobody registered yet; the session's clock stays);
    `far_after`: its instants after that key are 20 years away (Stack.calendar)."""
    season, cal = stack.new_season(stack.now() - timedelta(days=30, minutes=5) if past else None, far_after)
    if past:  # the instants already past fire and their events settle before anyone registers
        # (else S5's part1_pass_by could withdraw an applicant registered meanwhile)
        stack.move_clock(stack.now())  # the same instant (the clock is frozen): fires what is due, settles
    codes = [f"{next(_codes)}" for _ in range(n_programs)]
    for code in codes:
        r = stack.admin.post(f"{stack.url}/registration/programs", json=program(season, code), timeout=60)
        assert r.status_code == 201, r.text
    return season, cal, codes


def make_type_and_event(stack, code: str, start, capacity: int, minutes: int = 30) -> tuple[str, str]:
    base = f"{stack.url}/interviews/programs/{code}"
    r = wait_for(lambda: (lambda r: r if r.status_code == 201 else None)(
        stack.admin.post(f"{base}/types", json={"name": "Faculty interview"}, timeout=60)),
        f"program {code} to reach the interviews service")
    type_id = r.json()["type_id"]
    r = stack.admin.post(f"{base}/events", json={
        "type_id": type_id, "start": iso(start), "end": iso(start + timedelta(minutes=minutes)), "capacity": capacity,
        "place": "virtual", "location": "video call", "timezone": "America/Chicago"}, timeout=60)
    assert r.status_code == 201, r.text
    return type_id, r.json()["event_id"]


def invite_all(stack, code: str, type_ids: str | list[str], applicant_ids: list[str], workers: int = 8,
               timeout: float = 600) -> dict[str, str]:
    """One invitation per applicant, by applicant. An applicant whose delivery has not reached the
    interviews service yet (403) is tried again after the others, in rounds (no poll per
    applicant): after a `settle` every delivery has arrived and one round suffices."""
    import time

    url = f"{stack.url}/interviews/programs/{code}/invitations"
    session = sessions(stack)
    types = [type_ids] if isinstance(type_ids, str) else list(type_ids)

    def one(aid):
        r = session().post(url, json={"applicant_id": aid, "type_ids": types, "message": "Welcome"}, timeout=120)
        assert r.status_code in (201, 403), r.text
        return aid, (r.json()["invitation_id"] if r.status_code == 201 else None)

    out: dict[str, str] = {}
    todo, deadline = list(applicant_ids), time.monotonic() + timeout
    with ThreadPoolExecutor(workers) as pool:
        while todo:
            out.update((aid, inv) for aid, inv in pool.map(one, todo) if inv)
            todo = [aid for aid in todo if aid not in out]
            if todo:
                assert time.monotonic() < deadline, f"{len(todo)} deliveries never reached the interviews service"
                stack.local.settle(30)
    return out


def links_by_invitation(stack) -> dict[str, str]:
    """Every booking link emailed so far, by the invitation its token names."""
    import base64
    import json

    out = {}
    for msg in stack.local.outbox():
        for token in LINK.findall(msg["body"]):
            body = token.split(".")[0]
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            out[payload["i"]] = token
    return out


def burst(calls, workers: int | None = None):
    """Every call at once: `workers` threads (default one per call) released together by a barrier,
    each then taking the next call as soon as its previous one is answered."""
    workers = min(workers or len(calls), len(calls))
    start = threading.Barrier(workers)
    ready = threading.local()

    def one(call):
        if not getattr(ready, "done", False):
            ready.done = True
            start.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, calls))


def add_events(stack, code: str, type_id: str, first, n: int, capacity: int, minutes: int = 30) -> list[str]:
    """n more events of the type, an hour apart from `first`."""
    url = f"{stack.url}/interviews/programs/{code}/events"
    out = []
    for k in range(n):
        start = first + timedelta(hours=k)
        r = stack.admin.post(url, json={
            "type_id": type_id, "start": iso(start), "end": iso(start + timedelta(minutes=minutes)),
            "capacity": capacity, "place": "virtual", "location": "video call", "timezone": "America/Chicago"},
            timeout=60)
        assert r.status_code == 201, r.text
        out.append(r.json()["event_id"])
    return out


def test_i4_thousand_applicants_booking_a_hundred_seats_at_once_exactly_a_hundred(stack):
    import time

    n, n_events, capacity = 1000, 10, 10
    started = time.monotonic()

    def phase(name):
        print(f"{name}: {time.monotonic() - started:.1f} s", flush=True)

    # its instants after invitations_open (I8's refunds at rol_deadline for the 900 who never
    # booked...) would fire inside a later test: 20 years away
    season, cal, (code,) = season_with_programs(stack, 1, far_after="invitations_open")
    stack.at(cal, "invitations_open")  # first: the instants before it fire with nobody registered yet
    applicants = register_paid(stack, season, n)
    phase(f"{n} registered and paid")
    deliver(stack, season, [(a["id"], code) for a in applicants])
    # every registration's and delivery's events reach their consumers (interviews among them) at once
    assert stack.local.settle(600), "the registrations' and deliveries' events did not settle in 10 min"
    phase("delivered (settled)")
    day = parse_instant(cal["non_crip_interviews_from"]) + timedelta(days=1)
    type_id, e0 = make_type_and_event(stack, code, day, capacity=capacity)
    events = [e0, *add_events(stack, code, type_id, day + timedelta(hours=1), n_events - 1, capacity)]
    invitations = invite_all(stack, code, type_id, [a["id"] for a in applicants])
    assert len(invitations) == n
    phase("invited")
    assert stack.local.settle(600), "the invitations' events and emails did not settle"
    links = links_by_invitation(stack)  # every email sent
    assert all(i in links for i in invitations.values()), "an invitation email is missing"
    phase("links")

    def attempt(i, inv):
        return requests.post(f"{stack.url}/interviews/invitations/{inv}/bookings", params={"token": links[inv]},
                             json={"type_id": type_id, "event_id": events[i % n_events]}, timeout=180)

    outcomes = burst([lambda i=i, inv=inv: attempt(i, inv) for i, inv in enumerate(invitations.values())],
                     workers=64)
    phase("burst")
    statuses = Counter(r.status_code for r in outcomes)
    assert statuses == {201: n_events * capacity, 409: n - n_events * capacity}, statuses
    refused = [r.json() for r in outcomes if r.status_code == 409]
    assert all(p["rule"] == "I4" and p["i4"] == "capacity" and p["type"].endswith("/I4") for p in refused), refused[:2]
    schedule = stack.admin.get(f"{stack.url}/interviews/programs/{code}/schedule", timeout=60).json()["events"]
    assert sorted((e["booked"], len(e["bookings"])) for e in schedule) == [(capacity, capacity)] * n_events
    booked = {b["applicant_id"] for e in schedule for b in e["bookings"]}
    assert booked == {r.json()["applicant_id"] for r in outcomes if r.status_code == 201}
    assert len(booked) == n_events * capacity
    assert stack.local.settle(300), "the bookings' events and emails are still queued"
    phase("settled")


def test_i4_one_applicant_booking_ten_overlapping_events_of_ten_programs_at_once_exactly_one(stack):
    season, cal, codes = season_with_programs(stack, 10, past=True)
    (applicant,) = register_paid(stack, season, 1)
    deliver(stack, season, [(applicant["id"], c) for c in codes])
    stack.local.settle(120)
    day = parse_instant(cal["non_crip_interviews_from"]) + timedelta(days=1)
    offers = []
    for k, code in enumerate(codes):
        # 3 minutes apart, 30 minutes long: every two of them overlap
        type_id, event_id = make_type_and_event(stack, code, day + timedelta(minutes=3 * k), capacity=5)
        (inv,) = invite_all(stack, code, type_id, [applicant["id"]]).values()
        offers.append((inv, type_id, event_id))
    links = wait_for(lambda: (lambda ls: ls if all(o[0] in ls for o in offers) else None)(links_by_invitation(stack)),
                     "the ten invitation emails")
    outcomes = burst([lambda o=o: requests.post(f"{stack.url}/interviews/invitations/{o[0]}/bookings",
                                                params={"token": links[o[0]]},
                                                json={"type_id": o[1], "event_id": o[2]}, timeout=180)
                      for o in offers])
    assert Counter(r.status_code for r in outcomes) == {201: 1, 409: 9}, [r.text for r in outcomes]
    won = next(r.json() for r in outcomes if r.status_code == 201)
    assert all(r.json()["i4"] == "overlap_or_buffer" and r.json()["booking_id"] == won["booking_id"]
               for r in outcomes if r.status_code == 409)
    # the booking page of the link works without signing in; another invitation's link is refused
    inv0 = offers[0][0]
    page = requests.get(f"{stack.url}/interviews/book", params={"token": links[inv0]}, timeout=60)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    other = offers[1]
    r = requests.post(f"{stack.url}/interviews/invitations/{other[0]}/bookings", params={"token": links[inv0]},
                      json={"type_id": other[1], "event_id": other[2]}, timeout=60)
    assert r.status_code == 403


# ----------------------------------------------------------------------------- schemathesis
import schemathesis  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from .problem_checks import CHECKS  # noqa: E402

OPERATIONS = r"^/interviews/"


@pytest.fixture(scope="module")
def interviews_schema(stack):
    loaded = schemathesis.openapi.from_url(f"{stack.url}/openapi.json", timeout=30)
    loaded.config.phases.coverage.unexpected_methods = {"get", "put", "post", "delete", "patch"}
    return loaded


@pytest.fixture(scope="module")
def interviews_roles(stack):
    applicant_session, _ = stack.new_account("applicant")
    program_session, _ = stack.new_account("program", program_code="101")
    return {"admin": {"Authorization": stack.admin.headers["Authorization"]},
            "applicant": {"Authorization": applicant_session.headers["Authorization"]},
            "program": {"Authorization": program_session.headers["Authorization"]},
            "anonymous": {}}


interviews_operations = schemathesis.pytest.from_fixture("interviews_schema").include(path_regex=OPERATIONS)


@interviews_operations.parametrize()
@settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_interviews_no_5xx_and_problem_json(case, interviews_roles):
    for headers in interviews_roles.values():
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=60)


# ----------------------------------------------------------------------------- the booking page (headless Chromium)
def test_pages_the_booking_page_from_the_email_link_books_and_shows_the_applicants_time_zone(stack):
    from tests.e2e.test_pages_e2e import CHROMIUM_ARGS, _chromium

    path = _chromium()
    if not path:
        pytest.skip("Debian's chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    season, cal, (code,) = season_with_programs(stack, 1, past=True)
    (applicant,) = register_paid(stack, season, 1)
    deliver(stack, season, [(applicant["id"], code)])
    day = parse_instant(cal["non_crip_interviews_from"]) + timedelta(days=1)
    type_id, event_id = make_type_and_event(stack, code, day, capacity=2)
    (inv,) = invite_all(stack, code, type_id, [applicant["id"]]).values()
    links = wait_for(lambda: (lambda ls: ls if inv in ls else None)(links_by_invitation(stack)), "the invitation")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(60_000)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{stack.url}/interviews/book?token={links[inv]}")  # no sign-in
            page.locator(f"button[data-event='{event_id}']").click()
            page.locator("#status.ok").wait_for()
            status = page.locator("#status").inner_text()
            central = day.astimezone(ZoneInfo("America/Chicago")).isoformat()
            assert status.startswith(f"Booked: {central}"), status  # Central time: I6's default
            page.locator("#bookings li").first.wait_for()
        finally:
            browser.close()
    assert not errors, errors
    schedule = stack.admin.get(f"{stack.url}/interviews/programs/{code}/schedule", timeout=60).json()["events"]
    assert [b["applicant_id"] for b in schedule[0]["bookings"]] == [applicant["id"]]
