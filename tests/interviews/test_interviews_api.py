"""The interviews service through its HTTP routes (chalice.test.Client) on the in-process
AWS emulator: programs (I1, I3, I7), invitations (I2, I9), bookings (I4, I5, I6), the
applicant's view, the schedule, force-scheduling, authorization and the I8 refund."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from interviews_kit import AFTER_INVITATIONS, deliver_outbox, feed

from shared.contracts import (
    InterviewBooked,
    InterviewBookingCancelled,
    InterviewFeeRefundDue,
    InterviewInvited,
    SeasonDeadlineReached,
)

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")]
P1, P2 = "program:p1:101", "program:p2:202"  # 101: COTH at CRIP; 202: COTH, not at CRIP
CRIP_DAY = datetime(2024, 1, 12, 15, 0, tzinfo=UTC)  # 09:00 Central
LATE_DAY = datetime(2024, 1, 20, 15, 0, tzinfo=UTC)
LINK = re.compile(r"https?://\S+/interviews/book\?token=(\S+)")


def iso(t: datetime) -> str:
    return t.isoformat()


def make_type(api, token=P1, code="101", name="Faculty"):
    r = api.call("POST", f"/programs/{code}/types", token, {"name": name, "description": "with the director"})
    assert r.status_code == 201, r.data
    return r.data["type_id"]


def make_event(api, type_id, start, minutes=30, capacity=2, token=P1, code="101", place=None, lockout=None):
    place = place or ("crip" if code == "101" else "virtual")
    body = {"type_id": type_id, "start": iso(start), "end": iso(start + timedelta(minutes=minutes)),
            "capacity": capacity, "place": place, "location": "Frisco TX", "timezone": "America/Chicago"}
    if lockout:
        body["lockout_at"] = iso(lockout)
    r = api.call("POST", f"/programs/{code}/events", token, body)
    assert r.status_code == 201, r.data
    return r.data["event_id"]


def invite(api, applicant, type_ids, token=P1, code="101"):
    r = api.call("POST", f"/programs/{code}/invitations", token,
                 {"applicant_id": applicant, "type_ids": type_ids, "message": "We look forward to meeting you."})
    assert r.status_code == 201, r.data
    return r.data["invitation_id"]


def link_token(svc, email: str) -> str:
    deliver_outbox()
    tokens = [m for e in svc.platform.mailer.sent if e.to == email for m in LINK.findall(e.body)]
    assert tokens, f"no booking link sent to {email}"
    return tokens[-1]


def book(api, invitation, type_id, event_id, token=None, link=None, headers=None):
    path = f"/invitations/{invitation}/bookings" + (f"?token={link}" if link else "")
    return api.call("POST", path, token, {"type_id": type_id, "event_id": event_id}, headers=headers)


@pytest.fixture
def open_season(season, clock):
    clock.set(AFTER_INVITATIONS)
    return season


def test_i3_a_non_coth_program_is_refused_every_scheduling_operation(api, open_season):
    r = api.call("POST", "/programs/303/types", "program:p3:303", {"name": "x"})
    assert r.status_code == 422 and r.data["rule"] == "I3" and "directly" in r.data["detail"]
    r = api.call("POST", "/programs/303/invitations", "program:p3:303", {"applicant_id": "a0", "type_ids": ["x"]})
    assert r.data["rule"] == "I3"
    assert api.call("GET", "/programs/303/schedule", "program:p3:303").data["rule"] == "I3"


def test_i1_i7_events_within_the_crip_window_and_not_before_non_crip_interviews_from(api, open_season):
    t1 = make_type(api)
    make_event(api, t1, CRIP_DAY)  # CRIP, inside
    r = api.call("POST", "/programs/101/events", P1, {"type_id": t1, "start": iso(LATE_DAY),
                                                      "end": iso(LATE_DAY + timedelta(minutes=30)), "capacity": 1,
                                                      "place": "crip", "timezone": "America/Chicago"})
    assert r.status_code == 422 and r.data["rule"] == "I7"
    t2 = make_type(api, P2, "202")
    r = api.call("POST", "/programs/202/events", P2, {"type_id": t2, "start": iso(CRIP_DAY),
                                                      "end": iso(CRIP_DAY + timedelta(minutes=30)), "capacity": 1,
                                                      "place": "virtual", "timezone": "America/Chicago"})
    assert r.status_code == 422 and r.data["rule"] == "I7"
    make_event(api, t2, LATE_DAY, token=P2, code="202")
    # another program's account cannot touch it; nor a type of another program be used
    assert api.call("POST", "/programs/101/types", P2, {"name": "x"}).status_code == 403
    r = api.call("POST", "/programs/202/events", P2, {"type_id": t1, "start": iso(LATE_DAY),
                                                      "end": iso(LATE_DAY + timedelta(minutes=30)), "capacity": 1,
                                                      "place": "virtual", "timezone": "America/Chicago"})
    assert r.status_code == 422
    r = api.call("POST", "/programs/101/events", P1, {"type_id": t1, "start": "2024-01-12T09:00:00",
                                                      "end": "2024-01-12T10:00:00", "capacity": 1, "place": "crip"})
    assert r.status_code == 422  # no offset


def test_i2_invitations_from_invitations_open_only_to_delivered_applicants_with_a_link_and_i9(api, svc, season,
                                                                                              clock):
    t1 = make_type(api)
    r = api.call("POST", "/programs/101/invitations", P1, {"applicant_id": "a1", "type_ids": [t1]})
    assert r.status_code == 422 and r.data["rule"] == "I2"
    clock.set(AFTER_INVITATIONS)
    r = api.call("POST", "/programs/101/invitations", P1, {"applicant_id": "nobody", "type_ids": [t1]})
    assert r.status_code == 403 and r.data["rule"] == "I2"
    inv = invite(api, "a1", [t1])
    deliver_outbox()
    mail = [m for m in svc.platform.mailer.sent if m.to == "a1@test.caspr"][-1]
    assert "book?token=" in mail.body and "rank" in mail.body  # I9
    assert [e.invitation_id for e in svc.platform.publisher.of(InterviewInvited)] == [inv]
    r = api.call("GET", "/applicants/a1/invitations", "applicant:sub-a1")
    assert r.status_code == 200 and r.data["invitations"][0]["invitation_id"] == inv
    assert "rank" in r.data["invitations"][0]["communication_rule"]
    assert api.call("GET", "/applicants/a1/invitations", "applicant:sub-a2").status_code == 403


def test_i4_book_by_link_without_signing_in_one_per_type_and_i6_times(api, svc, open_season):
    t1 = make_type(api)
    e1, e2 = make_event(api, t1, CRIP_DAY), make_event(api, t1, CRIP_DAY + timedelta(hours=2))
    inv = invite(api, "a0", [t1])
    token = link_token(svc, "a0@test.caspr")
    r = api.call("GET", f"/book?token={token}")
    assert r.status_code == 200 and "text/html" in r.headers["Content-Type"]
    r = api.call("GET", f"/applicants/a0/invitations?token={token}")
    assert r.status_code == 200, r.data
    ev = {e["event_id"]: e for e in r.data["invitations"][0]["events"]}[e1]
    assert ev["start_applicant"] == "2024-01-12T10:00:00-05:00"  # a0 chose New York (I6)
    assert ev["start_program"] == "2024-01-12T09:00:00-06:00"
    r = book(api, inv, t1, e1, link=token)
    assert r.status_code == 201, r.data
    assert r.data["start_applicant"] == "2024-01-12T10:00:00-05:00"
    first = r.data["booking_id"]
    r = book(api, inv, t1, e2, link=token)
    assert r.status_code == 409 and r.data["rule"] == "I4" and r.data["i4"] == "one_booking_per_type"
    assert r.data["booking_id"] == first and first in r.data["detail"]
    deliver_outbox()
    confirmation = [m for m in svc.platform.mailer.sent if m.to == "a0@test.caspr"][-1]
    assert "10:00:00-05:00" in confirmation.body
    assert [e.booking_id for e in svc.platform.publisher.of(InterviewBooked)] == [first]
    # a tampered link or another invitation's link is refused; so is no sign-in at all
    assert book(api, inv, t1, e2, link=token[:-2] + "xx").status_code == 401
    assert book(api, inv, t1, e2).status_code == 403


def test_i4_overlap_and_buffer_across_programs_name_the_booking(api, svc, open_season):
    t1, t2 = make_type(api), make_type(api, P2, "202")
    base = LATE_DAY
    mine = make_event(api, t1, base, minutes=60, place="onsite")
    overlapping = make_event(api, t2, base + timedelta(minutes=30), token=P2, code="202")
    in_buffer = make_event(api, t2, base + timedelta(minutes=70), token=P2, code="202")
    clear = make_event(api, t2, base + timedelta(minutes=75), token=P2, code="202")
    i1, i2 = invite(api, "a1", [t1]), invite(api, "a1", [t2], token=P2, code="202")
    r = book(api, i1, t1, mine, "applicant:sub-a1")
    assert r.status_code == 201, r.data
    held = r.data["booking_id"]
    for event in (overlapping, in_buffer):
        r = book(api, i2, t2, event, "applicant:sub-a1")
        assert r.status_code == 409 and r.data["rule"] == "I4", r.data
        assert r.data["i4"] == "overlap_or_buffer" and r.data["booking_id"] == held
    r = book(api, i2, t2, clear, "applicant:sub-a1")
    assert r.status_code == 201, r.data
    # nothing half-written by the refusals: the seats of the refused events are free
    r = api.call("GET", "/programs/202/events", P2)
    assert {e["event_id"]: e["booked"] for e in r.data["events"]} == {overlapping: 0, in_buffer: 0, clear: 1}


def test_i4_capacity_and_i5_rebook_cancel_until_lockout(api, svc, open_season, clock):
    t1 = make_type(api)
    lock = CRIP_DAY - timedelta(days=2)
    full = make_event(api, t1, CRIP_DAY, capacity=1)
    other = make_event(api, t1, CRIP_DAY + timedelta(hours=3), capacity=1, lockout=lock)
    inv0, inv1 = invite(api, "a0", [t1]), invite(api, "a1", [t1])
    assert book(api, inv0, t1, full, "applicant:sub-a0").status_code == 201
    r = book(api, inv1, t1, full, "applicant:sub-a1")
    assert r.status_code == 409 and r.data["rule"] == "I4" and r.data["i4"] == "capacity"
    r = book(api, inv1, t1, other, "applicant:sub-a1")
    assert r.status_code == 201
    b1 = r.data["booking_id"]
    # a1 moves to `full`? full. a1 cancels, a0 rebooks into `other`, then a1 books `full`
    r = api.call("PUT", f"/bookings/{b1}", "applicant:sub-a1", {"event_id": full})
    assert r.status_code == 409 and r.data["i4"] == "capacity"
    assert api.call("DELETE", f"/bookings/{b1}", "applicant:sub-a0").status_code == 403  # not a0's
    r = api.call("DELETE", f"/bookings/{b1}", "applicant:sub-a1")
    assert r.status_code == 200 and r.data["status"] == "cancelled"
    b0 = svc.store.bookings("a0")[0].booking_id
    r = api.call("PUT", f"/bookings/{b0}", "applicant:sub-a0", {"event_id": other})
    assert r.status_code == 200 and r.data["event_id"] == other and r.data["sequence"] == 2
    assert book(api, inv1, t1, full, "applicant:sub-a1").status_code == 201
    events = {e["event_id"]: e["booked"] for e in api.call("GET", "/programs/101/events", P1).data["events"]}
    assert events == {full: 1, other: 1}
    # I5: on the lockout of `other`, a0's booking no longer changes
    clock.set(lock)
    r = api.call("DELETE", f"/bookings/{b0}", "applicant:sub-a0")
    assert r.status_code == 409 and r.data["rule"] == "I5"
    r = api.call("PUT", f"/bookings/{b0}", "applicant:sub-a0", {"event_id": full})
    assert r.status_code == 409 and r.data["rule"] == "I5"
    deliver_outbox()
    assert len(svc.platform.publisher.of(InterviewBookingCancelled)) == 1
    assert [e.previous_event_id for e in svc.platform.publisher.of(InterviewBooked)].count(full) == 1


def test_i5_force_schedule_and_the_schedule(api, svc, open_season):
    t1 = make_type(api)
    e1 = make_event(api, t1, CRIP_DAY, capacity=1)
    invite(api, "a2", [t1])
    deliver_outbox()
    sent = len(svc.platform.mailer.sent)
    r = api.call("POST", f"/programs/101/events/{e1}/bookings", P1, {"applicant_id": "a2", "type_id": t1})
    assert r.status_code == 201 and r.data["forced"] is True
    deliver_outbox()
    assert len(svc.platform.mailer.sent) == sent  # no email to the applicant
    r = api.call("POST", f"/programs/101/events/{e1}/bookings", P1, {"applicant_id": "a1", "type_id": t1})
    assert r.status_code == 403  # a1 was not invited to it
    assert api.call("POST", f"/programs/101/events/{e1}/bookings", P2,
                    {"applicant_id": "a2", "type_id": t1}).status_code == 403  # another program
    r = api.call("GET", "/programs/101/schedule", P1)
    assert r.status_code == 200
    assert [(e["event_id"], [b["applicant_id"] for b in e["bookings"]]) for e in r.data["events"]] == [(e1, ["a2"])]
    assert api.call("GET", "/programs/101/schedule", P2).status_code == 403


def test_i4_a_retried_booking_with_its_idempotency_key_books_once(api, open_season):
    t1 = make_type(api)
    e1 = make_event(api, t1, CRIP_DAY)
    inv = invite(api, "a1", [t1])
    first = book(api, inv, t1, e1, "applicant:sub-a1", headers={"Idempotency-Key": "k-1"})
    again = book(api, inv, t1, e1, "applicant:sub-a1", headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and again.status_code == 201
    assert first.data["booking_id"] == again.data["booking_id"]
    assert api.call("GET", "/programs/101/events", P1).data["events"][0]["booked"] == 1


def _burst(svc, calls):
    """Every call at once; the emulator's writes serialized, as DynamoDB makes each item write atomic."""
    one_at_a_time = threading.Lock()
    store = svc.store
    real = {name: getattr(store, name) for name in ("book", "rebook", "cancel")}

    def serialized(fn):
        def call(*a, **kw):
            with one_at_a_time:
                return fn(*a, **kw)
        return call

    for name, fn in real.items():
        setattr(store, name, serialized(fn))
    start = threading.Barrier(len(calls))

    def one(call):
        start.wait(timeout=30)
        try:
            return call()
        except Exception as exc:  # noqa: BLE001
            return exc

    try:
        with ThreadPoolExecutor(len(calls)) as pool:
            return list(pool.map(one, calls))
    finally:
        for name in real:
            delattr(store, name)


def test_i4_sixty_applicants_on_ten_seats_at_once_exactly_ten(svc, clock):
    from interviews_kit import season_events

    from interviews import handlers

    feed(svc, *season_events(applicants=60))
    clock.set(AFTER_INVITATIONS)
    p1 = svc.platform.verifier.verify(P1)
    t = handlers.add_type(svc, p1, "101", "Faculty", "")
    e = handlers.add_event(svc, p1, "101", type_id=t.type_id, start=CRIP_DAY, end=CRIP_DAY + timedelta(minutes=30),
                           capacity=10, place="crip", location="", timezone="America/Chicago", lockout_at=None)
    invs = {f"a{n}": handlers.invite(svc, p1, "101", f"a{n}", [t.type_id], "") for n in range(60)}
    calls = [lambda aid=aid, inv=inv: handlers.book(svc, svc.platform.verifier.verify(f"applicant:sub-{aid}"),
                                                     inv.invitation_id, t.type_id, e.event_id)
             for aid, inv in invs.items()]
    outcomes = _burst(svc, calls)
    won = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(won) == 10, refused[:3]
    assert all(getattr(o, "rule", None) == "I4" and o.extra["i4"] == "capacity" for o in refused), refused[:3]
    assert svc.store.event(e.event_id).booked == 10
    assert len(svc.store.event_bookings(e.event_id)) == 10


def test_i4_one_applicant_on_ten_overlapping_events_of_two_programs_at_once_exactly_one(svc, season, clock):
    from interviews import handlers

    clock.set(AFTER_INVITATIONS)
    who = svc.platform.verifier.verify("applicant:sub-a1")
    calls = []
    for token, code, place in ((P1, "101", "onsite"), (P2, "202", "virtual")):
        p = svc.platform.verifier.verify(token)
        for k in range(5):
            t = handlers.add_type(svc, p, code, f"T{k}", "")
            start = LATE_DAY + timedelta(minutes=7 * k + (3 if code == "202" else 0))
            e = handlers.add_event(svc, p, code, type_id=t.type_id, start=start, end=start + timedelta(minutes=30),
                                   capacity=5, place=place, location="", timezone="America/Chicago", lockout_at=None)
            inv = handlers.invite(svc, p, code, "a1", [t.type_id], "")
            calls.append(lambda inv=inv, t=t, e=e: handlers.book(svc, who, inv.invitation_id, t.type_id, e.event_id))
    outcomes = _burst(svc, calls)
    won = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(won) == 1, outcomes
    assert all(o.extra.get("i4") == "overlap_or_buffer" and o.extra["booking_id"] == won[0].booking_id
               for o in outcomes if isinstance(o, Exception))
    assert [b.booking_id for b in svc.store.bookings("a1")] == [won[0].booking_id]


def test_i8_at_interviews_close_applicants_who_never_booked_are_refunded_once(api, svc, open_season):
    from interviews import consumers

    t1 = make_type(api)
    e1 = make_event(api, t1, CRIP_DAY)
    inv = invite(api, "a0", [t1])
    r = book(api, inv, t1, e1, "applicant:sub-a0")
    inv1 = invite(api, "a1", [t1])
    r1 = book(api, inv1, t1, e1, "applicant:sub-a1")
    assert api.call("DELETE", f"/bookings/{r1.data['booking_id']}", "applicant:sub-a1").status_code == 200
    assert r.status_code == 201
    at = datetime(2024, 2, 19, 4, 59, tzinfo=UTC)
    deadline = SeasonDeadlineReached(season="2024", key="rol_deadline", at=at)  # interviews_close's default
    for _ in range(2):  # a redelivery under another event id announces nothing more
        consumers._handlers()[SeasonDeadlineReached](deadline)
    deliver_outbox()
    refunds = svc.platform.publisher.of(InterviewFeeRefundDue)
    assert [(e.applicant_id, e.amount_cents, e.rule) for e in refunds] == [("a2", 25_000, "I8")]


def test_calendar_ics_one_vevent_per_booking_sequence_on_rebook_cancelled_and_a_private_address(api, svc,
                                                                                               open_season):
    from icalendar import Calendar

    t1, t2 = make_type(api), make_type(api, name="Residents")
    e1, e2 = make_event(api, t1, CRIP_DAY), make_event(api, t1, CRIP_DAY + timedelta(hours=2))
    e3 = make_event(api, t2, CRIP_DAY + timedelta(hours=4))
    inv = invite(api, "a1", [t1, t2])
    b1 = book(api, inv, t1, e1, "applicant:sub-a1").data["booking_id"]
    b2 = book(api, inv, t2, e3, "applicant:sub-a1").data["booking_id"]
    assert api.call("PUT", f"/bookings/{b1}", "applicant:sub-a1", {"event_id": e2}).status_code == 200
    assert api.call("DELETE", f"/bookings/{b2}", "applicant:sub-a1").status_code == 200
    r = api.client.http.get("/applicants/a1/calendar.ics", headers={"Authorization": "Bearer applicant:sub-a1"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/calendar")
    events = {str(v["uid"]): v for v in Calendar.from_ical(r.body).walk("VEVENT")}
    assert set(events) == {f"{b1}@interviews.caspr", f"{b2}@interviews.caspr"}
    moved, gone = events[f"{b1}@interviews.caspr"], events[f"{b2}@interviews.caspr"]
    assert int(moved["sequence"]) == 1 and str(moved["status"]) == "CONFIRMED"
    assert moved.decoded("dtstart") == CRIP_DAY + timedelta(hours=2)
    assert str(gone["status"]) == "CANCELLED"
    assert api.call("GET", "/applicants/a1/calendar.ics", "applicant:sub-a2").status_code == 403
    # the private address: no sign-in; a new one revokes the old one; DELETE revokes
    r = api.call("POST", "/applicants/a1/calendar-address", "applicant:sub-a1")
    assert r.status_code == 201
    path = "/" + r.data["url"].split("/interviews/", 1)[1]
    assert api.client.http.get(path).status_code == 200
    r2 = api.call("POST", "/applicants/a1/calendar-address", "applicant:sub-a1")
    assert api.client.http.get(path).status_code == 404
    path2 = "/" + r2.data["url"].split("/interviews/", 1)[1]
    assert b"BEGIN:VEVENT" in api.client.http.get(path2).body
    assert api.call("DELETE", "/applicants/a1/calendar-address", "applicant:sub-a1").status_code == 204
    assert api.client.http.get(path2).status_code == 404


def test_i1_patch_and_delete_an_event_a_booked_one_never_shrinks_below_its_bookings(api, svc, open_season):
    t1 = make_type(api)
    e1 = make_event(api, t1, CRIP_DAY, capacity=3)
    inv0, inv1 = invite(api, "a0", [t1]), invite(api, "a1", [t1])
    assert book(api, inv0, t1, e1, "applicant:sub-a0").status_code == 201
    assert book(api, inv1, t1, e1, "applicant:sub-a1").status_code == 201
    r = api.call("PATCH", f"/programs/101/events/{e1}", P1, {"capacity": 1})
    assert r.status_code == 409 and r.data["rule"] == "I1"
    r = api.call("PATCH", f"/programs/101/events/{e1}", P1, {"start": iso(CRIP_DAY + timedelta(hours=1)),
                                                             "end": iso(CRIP_DAY + timedelta(hours=2))})
    assert r.status_code == 409
    r = api.call("PATCH", f"/programs/101/events/{e1}", P1, {"capacity": 2, "location": "Hall B"})
    assert r.status_code == 200 and (r.data["capacity"], r.data["location"]) == (2, "Hall B")
    assert api.call("PATCH", f"/programs/101/events/{e1}", P2, {"capacity": 5}).status_code == 403
    deliver_outbox()
    before = len(svc.platform.mailer.sent)
    r = api.call("DELETE", f"/programs/101/events/{e1}", P1)
    assert r.status_code == 200 and r.data["bookings_cancelled"] == 2
    deliver_outbox()
    told = {m.to for m in svc.platform.mailer.sent[before:]}
    assert told == {"a0@test.caspr", "a1@test.caspr"}
    assert svc.store.event(e1) is None
    assert [b.status for b in svc.store.bookings("a0")] == ["cancelled"]
    # the time is free again: a0 books another event of the type at the same time
    e2 = make_event(api, t1, CRIP_DAY, capacity=1)
    assert book(api, inv0, t1, e2, "applicant:sub-a0").status_code == 201


def test_i2_an_invitation_reads_program_applicant_and_delivery_in_one_round_trip(api, svc, open_season):
    """POST .../invitations: one BatchGetItem (program, applicant, delivery), the season's calendar,
    the program's types, the transaction: 4 calls (before: 6, four of them GetItems)."""
    from shared.contracts import ApplicationDelivered
    from tests.fakes import aws_calls

    t1 = make_type(api)
    with aws_calls() as seen:
        inv = invite(api, "a2", [t1])
    assert dict(seen) == {"BatchGetItem": 1, "GetItem": 1, "Query": 1, "TransactWriteItems": 1}, dict(seen)
    assert svc.store.invitation(inv).applicant_id == "a2"
    feed(svc, *[ApplicationDelivered(season="2024", applicant_id="a9", program_code="202", round="match",
                                     designated_at=AFTER_INVITATIONS, delivered_at=AFTER_INVITATIONS)])
    r = api.call("POST", "/programs/101/invitations", P1, {"applicant_id": "a9", "type_ids": [t1]})
    assert r.status_code == 403 and r.data["rule"] == "I2"  # delivered to 202 only (and no applicant item)
    r = api.call("POST", "/programs/999/invitations", "program:p9:999", {"applicant_id": "a1", "type_ids": [t1]})
    assert r.status_code == 404
