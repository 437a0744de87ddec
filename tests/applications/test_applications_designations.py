"""Designations, credits and delivery (A3, A4, A5, R4, M7) over HTTP on moto."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from shared.contracts import ApplicationDelivered, ApplicationDesignated, CreditsPurchased

from .conftest import CALENDAR, at, deadline, events, program, registered, season, submitted


def designate(api, token, code, applicant_id="a1"):
    return api.call("POST", f"/applicants/{applicant_id}/designations", token, {"program_code": code})


def test_a5_designation_spends_one_credit_and_is_delivered_at_applications_delivered(api, svc, clock):
    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    r = designate(api, token, "101")
    assert r.status_code == 201, r.data
    assert r.data["program_code"] == "101" and r.data["delivered_at"] is None and r.data["credits_left"] == 11
    [e] = events(svc, ApplicationDesignated)
    assert (e.applicant_id, e.program_code, e.round, e.credits_used, e.credits_total) == ("a1", "101", "match", 1, 12)
    assert events(svc, ApplicationDelivered) == []
    listed = api.call("GET", "/applicants/a1/designations", token).data
    assert listed["credits_left"] == 11 and listed["designations"][0]["deadline"].startswith("2023-11-01T03:59")
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    deadline(svc, "applications_delivered")  # redelivered: nothing twice
    [d] = events(svc, ApplicationDelivered)
    assert (d.program_code, d.delivered_at) == ("101", CALENDAR["applications_delivered"])
    listed = api.call("GET", "/applicants/a1/designations", token).data
    assert listed["designations"][0]["delivered_at"].startswith("2023-11-01T12:00")


def test_a5_after_applications_delivered_a_designation_is_delivered_at_once(api, svc, clock):
    season(svc)
    program(svc, "101", deadline=at(2024, 1, 31))
    token = submitted(api, svc)
    clock.set(at(2023, 12, 1))
    r = designate(api, token, "101")
    assert r.status_code == 201 and r.data["delivered_at"].startswith("2023-12-01T12:00")
    [d] = events(svc, ApplicationDelivered)
    assert d.delivered_at == at(2023, 12, 1)


def test_a1_designation_refused_before_submission(api, svc):
    season(svc)
    program(svc, "101")
    token = registered(svc)
    r = designate(api, token, "101")
    assert r.status_code == 422 and r.data["rule"] == "A1" and "submission" in r.data["detail"]


def test_a3_designation_refused_without_a_part1_pass(api, svc):
    season(svc)
    program(svc, "101")
    token = submitted(api, svc, may_apply=False)
    r = designate(api, token, "101")
    assert r.status_code == 422 and r.data["rule"] == "A3" and r.data["type"].endswith("/A3")
    assert api.call("GET", "/applicants/a1/designations", token).data["credits_left"] == 12  # nothing spent


def test_a4_designation_refused_after_the_programs_deadline(api, svc, clock):
    season(svc)
    program(svc, "101")  # the default deadline
    program(svc, "102", deadline=at(2023, 12, 15))  # its own
    program(svc, "103", deadline=at(2024, 6, 1))  # never after match_application_last
    token = submitted(api, svc)
    clock.set(CALENDAR["application_deadline_default"] + timedelta(minutes=1))
    r = designate(api, token, "101")
    assert r.status_code == 422 and r.data["rule"] == "A4" and "deadline" in r.data["detail"]
    assert designate(api, token, "102").status_code == 201
    clock.set(CALENDAR["match_application_last"] + timedelta(minutes=1))
    r = designate(api, token, "103")
    assert r.status_code == 422 and r.data["rule"] == "A4"


def test_a5_no_credit_left_names_the_credits_route_and_r4_credits_become_usable(api, svc):
    from applications import handlers

    season(svc)
    for code in ("101", "102", "103"):
        program(svc, code)
    token = submitted(api, svc, credits=2)
    assert designate(api, token, "101").status_code == 201
    assert designate(api, token, "102").status_code == 201
    r = designate(api, token, "103")
    assert r.status_code == 422 and r.data["rule"] == "A5"
    assert "POST /registration/applicants/a1/credits" in r.data["detail"]
    handlers.on_credits(svc, CreditsPurchased(season="2024", applicant_id="a1", quantity=1, credits_total=3,
                                              charged_cents=1500))
    handlers.on_credits(svc, CreditsPurchased(season="2024", applicant_id="a1", quantity=1, credits_total=2,
                                              charged_cents=1500))  # an older one, late: ignored
    r = designate(api, token, "103")
    assert r.status_code == 201 and r.data["credits_left"] == 0


def test_a5_twice_to_one_program_is_a_409(api, svc):
    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    assert designate(api, token, "101").status_code == 201
    r = designate(api, token, "101")
    assert r.status_code == 409 and "already" in r.data["detail"]
    assert api.call("GET", "/applicants/a1/designations", token).data["credits_left"] == 11


def test_r7_withdrawn_applicant_designates_nothing(api, svc):
    from applications import handlers
    from shared.contracts import ApplicantReinstated, ApplicantWithdrawn

    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    handlers.on_withdrawn(svc, ApplicantWithdrawn(season="2024", applicant_id="a1", reason="x", version=2))
    r = designate(api, token, "101")
    assert r.status_code == 422 and r.data["rule"] == "R7"
    handlers.on_reinstated(svc, ApplicantReinstated(season="2024", applicant_id="a1", version=3))
    handlers.on_withdrawn(svc, ApplicantWithdrawn(season="2024", applicant_id="a1", reason="x", version=2))  # stale
    assert designate(api, token, "101").status_code == 201


def test_designations_are_the_applicants_own(api, svc):
    season(svc)
    program(svc, "101")
    submitted(api, svc)
    registered(svc, "a2", "u2")
    assert designate(api, "applicant:u2", "101").status_code == 403
    assert api.call("GET", "/applicants/a1/designations", "applicant:u2").status_code == 403
    assert api.call("GET", "/applicants/a1", "applicant:u2").status_code == 403
    assert designate(api, "program:p:101", "101").status_code == 403
    assert designate(api, "applicant:u1", "999").status_code == 404


def test_a5_r4_twelve_credits_fifteen_simultaneous_designations_exactly_twelve(api, svc):
    """With 12 credits, 15 designations to 15 programs at once: exactly 12 succeed; the credit
    counter ends at 12; no credit is spent twice (the emulator's writes serialized, as DynamoDB's)."""
    from applications import handlers

    season(svc)
    codes = [f"{100 + i}" for i in range(1, 16)]
    for code in codes:
        program(svc, code)
    submitted(api, svc)
    who = svc.platform.verifier.verify("applicant:u1")
    one_at_a_time = threading.Lock()
    real = svc.store.designate
    start = threading.Barrier(15)

    def serialized(*a, **kw):
        with one_at_a_time:
            return real(*a, **kw)

    svc.store.designate = serialized

    def one(code):
        start.wait(timeout=10)
        try:
            return handlers.designate(svc, who, "a1", code)
        except Exception as exc:  # noqa: BLE001
            return exc

    try:
        with ThreadPoolExecutor(15) as pool:
            outcomes = list(pool.map(one, codes))
    finally:
        del svc.store.designate
    won = [o for o in outcomes if isinstance(o, tuple)]
    refused = [o for o in outcomes if not isinstance(o, tuple)]
    assert len(won) == 12 and len(refused) == 3
    assert all(getattr(o, "rule", None) == "A5" for o in refused), refused
    assert sorted(d.credit_number for d, _ in won) == list(range(1, 13))
    facts = svc.store.facts("a1")
    assert (facts.credits_used, facts.credits_left) == (12, 0)
    assert len(svc.store.designations("a1")) == 12
    assert sorted(e.credits_used for e in events(svc, ApplicationDesignated)) == list(range(1, 13))


def test_m7_in_the_mpii_window_only_mpii_applicants_designate_programs_with_an_mpii_track(api, svc, clock):
    from applications import handlers
    from shared.contracts import MpiiOpened

    season(svc)
    for code in ("101", "102", "103"):
        program(svc, code)
    token = submitted(api, svc)
    submitted(api, svc, "a2", "u2")
    assert designate(api, token, "101").status_code == 201  # the Match round
    clock.set(CALENDAR["mpii_applications_open"] + timedelta(minutes=1))
    handlers.on_mpii_opened(svc, MpiiOpened(season="2024", applicant_ids=["a1"], track_codes=["1011", "1021"]))
    r = designate(api, "applicant:u2", "101", "a2")
    assert r.status_code == 422 and r.data["rule"] == "M7"  # a2 is not in MPII
    r = designate(api, token, "103")
    assert r.status_code == 422 and r.data["rule"] == "M7"  # no MPII track
    r = designate(api, token, "101")  # again, in the MPII round: delivered at once, one more credit
    assert r.status_code == 201 and r.data["round"] == "mpii" and r.data["delivered_at"] and r.data["credits_left"] == 10
    assert designate(api, token, "101").status_code == 409
    mpii = [e for e in events(svc, ApplicationDelivered) if e.round == "mpii"]
    assert [(e.applicant_id, e.program_code) for e in mpii] == [("a1", "101")]
    clock.set(CALENDAR["mpii_application_deadline"] + timedelta(minutes=1))
    r = designate(api, token, "102")
    assert r.status_code == 422 and r.data["rule"] == "A4"  # after the window: the Match deadlines apply


def test_a5_a_retried_designation_with_its_idempotency_key_spends_nothing_more(api, svc):
    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    key = {"Idempotency-Key": "designate-101-once"}
    first = api.call("POST", "/applicants/a1/designations", token, {"program_code": "101"}, headers=key)
    again = api.call("POST", "/applicants/a1/designations", token, {"program_code": "101"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.data["designated_at"] == again.data["designated_at"] and again.data["credits_left"] == 11
    assert len(events(svc, ApplicationDesignated)) == 1
    other = api.call("POST", "/applicants/a1/designations", token, {"program_code": "101"},
                     headers={"Idempotency-Key": "another"})
    assert other.status_code == 409


def test_a5_r7_a_withdrawn_applicants_applications_wait_and_go_out_on_reinstatement(api, svc, clock):
    from applications import handlers
    from shared.contracts import ApplicantReinstated, ApplicantWithdrawn

    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    assert designate(api, token, "101").status_code == 201
    handlers.on_withdrawn(svc, ApplicantWithdrawn(season="2024", applicant_id="a1", reason="x", version=2))
    clock.set(CALENDAR["applications_delivered"])
    deadline(svc, "applications_delivered")
    assert events(svc, ApplicationDelivered) == []
    assert api.call("GET", "/programs/101/applications?season=2024", "program:p:101").data["applications"] == []
    clock.set(CALENDAR["applications_delivered"] + timedelta(days=2))
    handlers.on_reinstated(svc, ApplicantReinstated(season="2024", applicant_id="a1", version=3))
    [d] = events(svc, ApplicationDelivered)
    assert d.delivered_at == CALENDAR["applications_delivered"] + timedelta(days=2)
    rows = api.call("GET", "/programs/101/applications?season=2024", "program:p:101").data["applications"]
    assert [r["applicant_id"] for r in rows] == ["a1"]


def test_a5_a_designation_written_at_the_same_instant_as_another_is_retried_not_refused(api, svc):
    """DynamoDB cancels a transaction that meets another on the same item (TransactionConflict):
    the designation reads the counter again and goes through."""
    from shared.errors import Conflict

    season(svc)
    program(svc, "101")
    token = submitted(api, svc)
    real, calls = svc.store.designate, []

    def busy(*a, **kw):
        calls.append(1)
        if len(calls) <= 2:
            raise Conflict("another change of the same record is being written; retry in a moment",
                           extra={"retry": True})
        return real(*a, **kw)

    svc.store.designate = busy
    try:
        r = designate(api, token, "101")
    finally:
        del svc.store.designate
    assert r.status_code == 201 and r.data["credits_left"] == 11 and len(calls) == 3
