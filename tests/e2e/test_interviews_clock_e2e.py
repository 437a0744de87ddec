"""Interviews over a season on the running local stack, driven by its movable clock: what the
moto integration tests prove, end to end over HTTP.

One season, one COTH program not at CRIP (with a contact email), four paid applicants:
- I2: an invitation before invitations_open is refused naming I2; after it, accepted;
- I2/I4: A and B book from their emailed links without signing in; A rebooks (I5), B cancels;
- I5: the program force-schedules D;
- I7: the program (not at CRIP) cannot hold an interview before non_crip_interviews_from;
- I1: the event's PDF (presigned POST, completion), the applicant's download link;
- I5: the daily digest reaches the program's contact the next day, listing every change;
- I5: on or after the lockout A's booking cannot change;
- the .ics of A shows the booking;
- I8: at interviews_close C (never booked) gets the $250 refund in registration's ledger and an
  email; B (booked, then cancelled) and A do not."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from shared.clock import iso, parse_instant

from .test_interviews_e2e import (
    deliver,
    invite_all,
    links_by_invitation,
    make_type_and_event,
    program,
    register_paid,
    wait_for,
)

pytestmark = pytest.mark.e2e


def test_interviews_season_on_the_clock_invite_book_rebook_digest_lockout_ics_and_refund(stack):
    season, cal = stack.new_season()
    # interviews_close (optional calendar key, I8): three days before rol_deadline
    cal["interviews_close"] = iso(parse_instant(cal["rol_deadline"]) - timedelta(days=3))
    r = stack.admin.put(f"{stack.url}/registration/seasons/{season}", json=cal, timeout=30)
    assert r.status_code == 200 and "interviews_close" in r.json()["calendar"], r.text
    code = f"6{int(season) % 100:02d}"  # 600-699: codes of this file (others use 700-999)
    contact = f"director-{season}@e2e.caspr"
    body = {**program(season, code), "contact": {"name": "Director", "email": contact}}
    assert stack.admin.post(f"{stack.url}/registration/programs", json=body, timeout=60).status_code == 201

    stack.at(cal, "applications_delivered")  # past part1_pass_by (S5) with nobody registered yet
    a, b, c, d = register_paid(stack, season, 4, workers=2)
    deliver(stack, season, [(x["id"], code) for x in (a, b, c, d)])
    assert stack.local.settle(120)
    day = parse_instant(cal["non_crip_interviews_from"]) + timedelta(days=1)
    type_id, e1 = make_type_and_event(stack, code, day, capacity=3)
    base = f"{stack.url}/interviews/programs/{code}"
    lockout = parse_instant(cal["invitations_open"]) + timedelta(days=3)
    r = stack.admin.post(f"{base}/events", json={
        "type_id": type_id, "start": iso(day + timedelta(hours=2)), "end": iso(day + timedelta(hours=2, minutes=30)),
        "capacity": 3, "place": "virtual", "location": "video call", "timezone": "America/Chicago",
        "lockout_at": iso(lockout)}, timeout=60)
    assert r.status_code == 201, r.text
    e2 = r.json()["event_id"]

    # I2: not before invitations_open
    r = stack.admin.post(f"{base}/invitations", json={"applicant_id": a["id"], "type_ids": [type_id]}, timeout=60)
    assert r.status_code == 422 and r.json()["rule"] == "I2" and "invitations_open" in r.json()["detail"], r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    stack.at(cal, "invitations_open")
    invitations = invite_all(stack, code, type_id, [x["id"] for x in (a, b, c, d)])
    assert len(invitations) == 4
    links = wait_for(lambda: (lambda ls: ls if all(i in ls for i in invitations.values()) else None)(
        links_by_invitation(stack)), "the invitation emails")
    token = {aid: links[inv] for aid, inv in invitations.items()}

    # I7: a program not at CRIP holds no interview before non_crip_interviews_from
    crip_day = parse_instant(cal["crip_start"]) + timedelta(days=1)
    r = stack.admin.post(f"{base}/events", json={
        "type_id": type_id, "start": iso(crip_day), "end": iso(crip_day + timedelta(minutes=30)), "capacity": 1,
        "place": "virtual", "location": "video call", "timezone": "America/Chicago"}, timeout=60)
    assert r.status_code == 422 and r.json()["rule"] == "I7", r.text

    def book(who, event_id):  # from the emailed link: no sign-in
        return requests.post(f"{stack.url}/interviews/invitations/{invitations[who['id']]}/bookings",
                             params={"token": token[who["id"]]}, json={"type_id": type_id, "event_id": event_id},
                             timeout=60)

    ra = book(a, e1)
    assert ra.status_code == 201, ra.text
    booking_a = ra.json()["booking_id"]
    r = requests.put(f"{stack.url}/interviews/bookings/{booking_a}", params={"token": token[a["id"]]},
                     json={"event_id": e2}, timeout=60)
    assert r.status_code == 200 and r.json()["event_id"] == e2, r.text  # I5: rebooked before the lockout
    rb = book(b, e1)
    assert rb.status_code == 201, rb.text
    r = requests.delete(f"{stack.url}/interviews/bookings/{rb.json()['booking_id']}",
                        params={"token": token[b["id"]]}, timeout=60)
    assert r.status_code == 200, r.text
    r = stack.admin.post(f"{base}/events/{e1}/bookings", json={"applicant_id": d["id"], "type_id": type_id},
                         timeout=60)
    assert r.status_code == 201 and r.json()["forced"] is True, r.text  # I5: force-scheduled, no email

    # I1: the event's PDF through a presigned POST, checked, then a download link for applicants
    r = stack.admin.post(f"{base}/events/{e2}/attachment", json={"filename": "directions.pdf", "size": 64},
                         timeout=60)
    assert r.status_code == 201, r.text
    pdf = b"%PDF-1.4\n% how to reach us\n%%EOF\n"
    form = r.json()["upload"]
    assert requests.post(form["url"], data=form["fields"], files={"file": ("directions.pdf", pdf, "application/pdf")},
                         timeout=60).status_code in (200, 201, 204)
    r = stack.admin.post(f"{base}/events/{e2}/attachment/completion", timeout=60)
    assert r.status_code == 200 and r.json()["status"] == "present", r.text
    seen = requests.get(f"{stack.url}/interviews/applicants/{a['id']}/invitations", params={"token": token[a["id"]]},
                        timeout=60).json()
    [attached] = [e["attachment"] for inv in seen["invitations"] for e in inv["events"] if e["event_id"] == e2]
    assert attached["filename"] == "directions.pdf" and requests.get(attached["url"], timeout=60).content == pdf

    # I5: the daily digest of the day's changes, the next day, to the program's contact
    stack.move_clock(stack.now() + timedelta(days=1))
    digest = wait_for(lambda: [m for m in stack.local.outbox(contact) if "schedule changes" in m["subject"]],
                      "the program's daily digest", timeout=120)
    assert len(digest) == 1, digest
    text = digest[0]["body"]
    assert text.count("\n- ") == 5, text  # A booked, A rebooked, B booked, B cancelled, D force-scheduled
    for needle in ("rebooked to", ", was ", "cancelled", "force-scheduled by the program", "(America/Chicago)"):
        assert needle in text, text
    stack.move_clock(stack.now() + timedelta(hours=6))  # a later run sends nothing twice
    assert len([m for m in stack.local.outbox(contact) if "schedule changes" in m["subject"]]) == 1

    # I5: on or after the lockout no change
    stack.move_clock(lockout + timedelta(minutes=1))
    r = requests.put(f"{stack.url}/interviews/bookings/{booking_a}", params={"token": token[a["id"]]},
                     json={"event_id": e1}, timeout=60)
    assert r.status_code == 409 and r.json()["rule"] == "I5" and "lockout" in r.json()["detail"], r.text

    # the .ics shows A's booking (at its new time)
    ics = requests.get(f"{stack.url}/interviews/applicants/{a['id']}/calendar.ics",
                       params={"token": token[a["id"]]}, timeout=60)
    assert ics.status_code == 200 and "BEGIN:VEVENT" in ics.text, ics.text
    assert f"UID:{booking_a}@interviews.caspr" in ics.text and "STATUS:CONFIRMED" in ics.text
    assert (day + timedelta(hours=2)).strftime("%Y%m%dT%H%M%S") in ics.text.replace("Z", ""), ics.text

    # I8: at interviews_close C, who never booked, is refunded; B (booked, cancelled), A and D are not
    stack.at(cal, "interviews_close")

    def ledger(who):
        return stack.admin.get(f"{stack.url}/registration/applicants/{who['id']}/ledger", timeout=60).json()

    refunded = wait_for(lambda: (lambda lg: lg if any(e["kind"] == "refund" for e in lg["entries"]) else None)(
        ledger(c)), "C's interview fee refund", timeout=180)
    refunds = [e for e in refunded["entries"] if e["kind"] == "refund"]
    assert [(e["part"], e["amount_cents"]) for e in refunds] == [("interview_fee", 25_000)], refunded
    assert refunded["balance_cents"] == 55_000 - 25_000
    mails = [m for m in stack.local.outbox(c["email"]) if "interview scheduling fee is refunded" in m["subject"]]
    assert len(mails) == 1 and "you booked no interview through CASPR" in mails[0]["body"]
    assert stack.local.settle(60)
    for who in (a, b, d):
        assert not [e for e in ledger(who)["entries"] if e["kind"] == "refund"], who
        assert not [m for m in stack.local.outbox(who["email"]) if "fee is refunded" in m["subject"]]
