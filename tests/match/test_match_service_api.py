"""The match service's routes and store on the in-process emulator (`aws` fixture), through
chalice.test.Client: rank order lists (M1, M3, M7), who may touch what (M6), refusals as
problem+json naming the rule, the projection of registration events, the lock as a
DynamoDB transaction condition."""

from __future__ import annotations

import json

import pytest
from chalice.test import Client
from match_service_support import (
    CALENDAR,
    DAY,
    SEASON,
    T0,
    feed,
    match_app,
    principals,
    rol_window_clock,
    seeded_service,
)

from shared.contracts import (
    ApplicantRegistered,
    ApplicantReinstated,
    ApplicantWithdrawn,
    TrackPositionsChanged,
    TrackReinstated,
    TrackWithdrawn,
)
from tests.fakes import FakeVerifier

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")]


@pytest.fixture
def clock():
    return rol_window_clock()


@pytest.fixture
def svc(aws, clock):
    with seeded_service(clock, applicants=4, verifier=FakeVerifier(principals())) as service:
        yield service


@pytest.fixture
def client(svc):
    with Client(match_app()) as c:
        yield c


def call(client, method: str, path: str, who: str | None = None, body=None):
    headers = {"Content-Type": "application/json"}
    if who:
        headers["Authorization"] = f"Bearer {who}"
    response = getattr(client.http, method.lower())(f"/seasons/{SEASON}{path}", headers=headers,
                                                   body=json.dumps(body) if body is not None else None)
    return response.status_code, (json.loads(response.body) if response.body else None), response.headers


def test_m1_an_applicant_submits_certifies_and_any_edit_uncertifies(client):
    status, body, _ = call(client, "PUT", "/applicants/me/rol", "a0", {"tracks": ["1021", "1011"]})
    assert status == 200, body
    assert (body["version"], body["certified"], body["counts"]) == (1, False, False)
    assert [t["track_code"] for t in body["tracks"]] == ["1021", "1011"]
    assert body["tracks"][0]["program_code"] == "102" and body["code_number"] == "10000"
    status, body, _ = call(client, "POST", "/applicants/me/rol/certification?version=1", "a0")
    assert status == 200 and body["counts"] is True
    status, body, _ = call(client, "PUT", "/applicants/10000/rol", "a0", {"tracks": ["1021", "1011"]})
    assert status == 200 and body["certified"] is False and body["version"] == 2  # the same list, still an edit
    status, body, headers = call(client, "POST", "/applicants/me/rol/certification?version=1", "a0")
    assert status == 409 and body["rule"] == "M1" and headers["Content-Type"] == "application/problem+json"
    status, body, _ = call(client, "GET", "/applicants/me/rol", "a0")
    assert status == 200 and body["certified"] is False and body["locks_at"].startswith("2031-01-11")


def test_m1_lists_are_refused_outside_their_window_with_the_rule(client, clock):
    clock.set(CALENDAR["rol_opens"] - DAY)
    status, body, _ = call(client, "PUT", "/applicants/me/rol", "a0", {"tracks": ["1011"]})
    assert status == 422 and body["rule"] == "M1" and body["type"].endswith("/M1") and "rol_opens" in body["detail"]
    clock.set(CALENDAR["rol_deadline"])
    status, body, _ = call(client, "PUT", "/tracks/1011/rol", "p101", {"applicants": ["10000"]})
    assert status == 422 and body["rule"] == "M1" and "locked" in body["detail"]


def test_m1_bad_lists_are_refused_naming_the_fields(client):
    status, body, _ = call(client, "PUT", "/applicants/me/rol", "a0", {"tracks": ["1011", "7777", "1011"]})
    assert status == 422 and {e["field"] for e in body["errors"]} == {"tracks[1]", "tracks[2]"}
    status, body, _ = call(client, "PUT", "/applicants/me/rol", "a0", {"track": ["1011"]})
    assert status == 422 and {e["field"] for e in body["errors"]} >= {"tracks", "track"}
    status, body, _ = call(client, "PUT", "/tracks/10111/rol", "p101", {"applicants": []})
    assert status == 422 and body["errors"][0]["field"] == "track_code"
    status, body, _ = call(client, "PUT", "/tracks/1011/rol", "p101", {"applicants": ["10000", "app-2301-0", "x"]})
    assert status == 422 and {e["field"] for e in body["errors"]} == {"applicants[1]", "applicants[2]"}
    status, body, _ = call(client, "POST", "/tracks/1011/rol/certification", "p101")
    assert status == 422 and body["rule"] == "M1"  # nothing to certify yet


def test_m6_each_side_reaches_only_its_own_lists(client):
    assert call(client, "GET", "/applicants/me/rol")[0] == 401
    assert call(client, "GET", "/applicants/app-2301-1/rol", "a0")[0] == 403
    assert call(client, "GET", "/applicants/me/rol", "p101")[0] == 403
    assert call(client, "PUT", "/tracks/1021/rol", "p101", {"applicants": ["10000"]})[0] == 403
    assert call(client, "PUT", "/tracks/1011/rol", "a0", {"applicants": ["10000"]})[0] == 403
    status, body, _ = call(client, "GET", "/applicants/10001/rol", "admin")
    assert status == 200 and body["applicant_id"] == "app-2301-1"
    status, body, _ = call(client, "PUT", "/tracks/1021/rol", "admin", {"applicants": ["app-2301-3", "10001"]})
    assert status == 200 and [a["code_number"] for a in body["applicants"]] == ["10003", "10001"]
    assert call(client, "GET", "/applicants/me/rol", "a99")[0] == 401  # unknown token


def test_m6_results_are_confidential_before_release(client):
    for who in ("a0", "p101"):
        status, body, _ = call(client, "GET", "/results/me", who)
        assert status == 403 and body["rule"] == "M6", body
    assert call(client, "GET", "/applicants/me/result", "a0")[0] == 403
    assert call(client, "GET", "/programs/102/result", "p101")[0] == 403  # not its program
    assert call(client, "GET", "/results", "a0")[0] == 403
    status, body, _ = call(client, "GET", "/results", "admin")
    assert status == 200 and body["rounds"]["match"]["stored"] is False
    status, body, _ = call(client, "GET", "/post-match", "a0")
    assert status == 403 and body["rule"] == "M8"
    status, body, _ = call(client, "GET", "/mpii", "p101")
    assert status == 403


def test_a_huge_bad_list_gets_a_small_refusal(client):
    status, body, _ = call(client, "PUT", "/applicants/me/rol", "a0", {"tracks": ["1011"] * 10_000})
    assert status == 422 and body["errors_total"] == 9_999 and len(body["errors"]) == 20, (status, len(str(body)))
    assert len(json.dumps(body)) < 10_000
    assert call(client, "GET", "/applicants/me/rol", "a0")[1]["tracks"] == []  # nothing stored


def test_a_list_longer_than_the_cap_is_refused_whole(client):
    status, body, _ = call(client, "PUT", "/applicants/me/rol", "a0", {"tracks": ["1011"] * 50_000})
    assert status == 422 and [e["field"] for e in body["errors"]] == ["tracks"], body
    assert "10000" in body["errors"][0]["message"].replace(",", ""), body
    assert call(client, "GET", "/applicants/me/rol", "a0")[1]["tracks"] == []


@pytest.mark.parametrize("path", ["/applicants/{x}/rol", "/applicants/{x}/result", "/runs/{x}"])
def test_an_overlong_or_odd_id_in_the_path_is_refused_not_looked_up(client, path):
    """DynamoDB refuses keys over 1 KB: such an id must be a 422, never a store error (503)."""
    for bad in ("x" * 2000, "a%23b"):
        status, body, _ = call(client, "GET", path.format(x=bad), "admin")
        assert status == 422 and body["errors"][0]["field"] in ("applicant_id", "run_id"), (status, body)


def test_m6_m7_only_programs_taking_part_in_mpii_learn_who_is_unmatched(client, svc):
    from match.domain.mpii import MpiiParticipants

    svc.store.save_mpii(SEASON, MpiiParticipants(("10001", "10002"), {"1021": 1}), svc.platform.clock.now())
    status, body, _ = call(client, "GET", "/mpii", "p102")  # 1021 takes part
    assert status == 200 and [a["code_number"] for a in body["applicants"]] == ["10001", "10002"]
    status, body, _ = call(client, "GET", "/mpii", "p101")  # no track in MPII: the tracks only
    assert status == 200 and body.get("applicants") is None and body.get("participant") is None
    assert [t["track_code"] for t in body["tracks"]] == ["1021"]
    assert call(client, "GET", "/mpii", "admin")[1]["applicants"]
    assert call(client, "GET", "/mpii", "a1")[1]["participant"] is True


def test_m3_withdrawn_applicants_cannot_rank_but_stay_flagged_on_programs_lists(client, svc):
    assert call(client, "PUT", "/tracks/1011/rol", "p101", {"applicants": ["10002", "10000"]})[0] == 200
    feed(ApplicantWithdrawn(season=SEASON, applicant_id="app-2301-2", code_number="10002", reason="e"))
    status, body, _ = call(client, "PUT", "/applicants/me/rol", "a2", {"tracks": ["1011"]})
    assert status == 409 and body["rule"] == "M3"
    status, body, _ = call(client, "GET", "/tracks/1011/rol", "p101")
    assert [(a["code_number"], a["withdrawn"]) for a in body["applicants"]] == [("10002", True), ("10000", False)]
    feed(ApplicantReinstated(season=SEASON, applicant_id="app-2301-2", code_number="10002"))
    assert call(client, "PUT", "/applicants/me/rol", "a2", {"tracks": ["1011"]})[0] == 200


def test_m3_a_withdrawn_track_stays_flagged_on_applicants_lists_and_its_program_cannot_rank(client, svc):
    assert call(client, "PUT", "/applicants/me/rol", "a0", {"tracks": ["1021", "1011"]})[0] == 200
    assert call(client, "PUT", "/tracks/1021/rol", "p102", {"applicants": ["10000"]})[0] == 200
    feed(TrackWithdrawn(season=SEASON, program_code="102", track_code="1021", name="PMSR/RRA 1021", positions=1,
                        reason="closed", version=2))
    status, body, _ = call(client, "GET", "/applicants/me/rol", "a0")
    assert [(t["track_code"], t["withdrawn"]) for t in body["tracks"]] == [("1021", True), ("1011", False)]
    for method, path, payload in (("PUT", "/tracks/1021/rol", {"applicants": ["10001"]}),
                                  ("POST", "/tracks/1021/rol/certification", None)):
        status, body, _ = call(client, method, path, "p102", payload)
        assert status == 409 and body["rule"] == "M3", body
    assert call(client, "GET", "/tracks/1021/rol", "p102")[1]["applicants"][0]["code_number"] == "10000"  # unchanged
    tracks = {t["track_code"]: t for t in call(client, "GET", "/tracks", "a0")[1]["tracks"]}
    assert tracks["1021"]["withdrawn"] and not tracks["1011"]["withdrawn"]
    # a redelivered, older positions change does not bring it back; the reinstatement does
    feed(TrackPositionsChanged(season=SEASON, program_code="102", track_code="1021", name="PMSR/RRA 1021",
                               positions=3, version=1))
    assert svc.store.tracks(SEASON)["1021"].withdrawn
    feed(TrackReinstated(season=SEASON, program_code="102", track_code="1021", name="PMSR/RRA 1021", positions=1,
                         version=3))
    assert call(client, "PUT", "/tracks/1021/rol", "p102", {"applicants": ["10001"]})[0] == 200


def test_projection_keeps_a_withdrawal_that_arrives_before_the_registration(svc):
    feed(ApplicantWithdrawn(season=SEASON, applicant_id="late", code_number="10999", reason="S5"))
    feed(ApplicantRegistered(season=SEASON, applicant_id="late", code_number="10999", cms_id="PRO-000000999",
                             email="Late@Test.caspr", first_name="L", last_name="A", college="C", graduation_year=2031,
                             timezone="America/Chicago", credits_total=12))
    late = svc.store.applicant(SEASON, "late")
    assert late.status == "withdrawn" and late.email == "late@test.caspr"
    feed(TrackPositionsChanged(season=SEASON, program_code="101", track_code="1011", name="PMSR/RRA", positions=5))
    t = svc.store.tracks(SEASON)["1011"]
    assert (t.positions, t.program_name) == (5, "Program 101")


def test_an_applicant_without_owner_sub_is_found_by_its_account_email(client, svc):
    """registration may leave owner_sub out of applicant.registered.v1: the account's email
    (the registration's email, R1) then ties the signed-in applicant to its registration."""
    from match import handlers
    from shared.adapters.accounts import StaticAccountDirectory
    from shared.auth import Principal

    feed(ApplicantRegistered(season=SEASON, applicant_id="by-email", code_number="10500", cms_id="PRO-000000500",
                             email="Mail@Test.caspr", first_name="M", last_name="E", college="C", graduation_year=2031,
                             timezone="America/Chicago", credits_total=12))
    stranger = Principal("sub-no-pointer", "sub-no-pointer", "applicant", frozenset({"applicant"}))
    with pytest.raises(Exception) as unknown:
        handlers.get_applicant_rol(svc, SEASON, "match", "me", stranger)
    assert getattr(unknown.value, "status", None) == 404
    svc.accounts = StaticAccountDirectory({"sub-no-pointer": "mail@test.caspr"})
    assert handlers.get_applicant_rol(svc, SEASON, "match", "me", stranger)["code_number"] == "10500"
    svc.accounts = StaticAccountDirectory()  # linked: the user pool is not asked again
    assert handlers.get_applicant_rol(svc, SEASON, "match", "me", stranger)["code_number"] == "10500"


def test_m1_the_run_lock_refuses_edits_and_certification_even_before_the_deadline(client, svc):
    assert call(client, "PUT", "/applicants/me/rol", "a0", {"tracks": ["1011"]})[0] == 200
    svc.store.lock_round(SEASON, "match", T0, "run-x")  # the run's lock step (a DynamoDB condition)
    status, body, _ = call(client, "POST", "/applicants/me/rol/certification", "a0")
    assert status == 422 and body["rule"] == "M1"
    status, body, _ = call(client, "PUT", "/applicants/me/rol", "a0", {"tracks": ["1021"]})
    assert status == 422 and body["rule"] == "M1"
    from shared.errors import RuleViolation

    with pytest.raises(RuleViolation):  # the store itself refuses, whatever the caller checked before
        svc.store.save_rol(SEASON, "match", "applicant", "app-2301-0", ("1011",), T0, "t", 1)
    assert svc.store.rol(SEASON, "match", "applicant", "app-2301-0").entries == ("1011",)


def test_m1_a_list_saved_over_a_stale_version_is_a_409_problem(client):
    status, body, _ = call(client, "PUT", "/tracks/1011/rol", "p101", {"applicants": ["10000"], "version": 0})
    assert status == 200 and body["version"] == 1
    status, body, headers = call(client, "PUT", "/tracks/1011/rol", "p101", {"applicants": ["10001"], "version": 0})
    assert status == 409 and body["rule"] == "M1" and body["version"] == 1, body
    assert headers["Content-Type"] == "application/problem+json"
    status, body, _ = call(client, "PUT", "/tracks/1011/rol", "p101", {"applicants": ["10001"], "version": 1})
    assert status == 200 and body["version"] == 2 and [a["code_number"] for a in body["applicants"]] == ["10001"]
    assert call(client, "PUT", "/tracks/1011/rol", "p101", {"applicants": [], "version": -1})[0] == 422
