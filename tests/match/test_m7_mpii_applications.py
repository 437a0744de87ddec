"""M7: MPII lists are limited to MPII applications. The match service keeps, per season, which
applicant the applications service delivered to which program in round "mpii"
(application.delivered.v1); an applicant's MPII list names only tracks of those programs, a
program's MPII list for a track only applicants who applied to that program in MPII."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from match_service_support import (
    CALENDAR,
    DAY,
    SEASON,
    build_service,
    feed,
    match_app,
    mpii_delivered,
    principals,
    seed_season,
)

from match.domain.mpii import require_applied_applicants, require_applied_tracks
from match.domain.rol import TrackInfo
from shared.clock import ControlledClock
from shared.contracts import ApplicationDelivered
from shared.contracts.subscriptions import SUBSCRIPTIONS
from shared.errors import RuleViolation
from tests.fakes import FakeVerifier

TRACKS = {code: TrackInfo(season=SEASON, track_code=code, program_code=code[:3], program_name=f"P{code[:3]}",
                          name=code, positions=1) for code in ("1011", "1021", "1022", "1031")}


# ----------------------------------------------------------------------------- unit
def test_m7_an_applicants_mpii_list_names_only_programs_it_applied_to_in_mpii():
    require_applied_tracks(["1021", "1022"], TRACKS, ["102"])  # both tracks of program 102
    with pytest.raises(RuleViolation) as refused:
        require_applied_tracks(["1021", "1031", "1011"], TRACKS, ["102", "101"])
    assert refused.value.rule == "M7" and "1031" in refused.value.detail and "1011" not in refused.value.detail
    assert [e.field for e in refused.value.errors] == ["tracks[1]"]
    with pytest.raises(RuleViolation):  # no MPII application at all
        require_applied_tracks(["1011"], TRACKS, ())


def test_m7_a_programs_mpii_list_names_only_applicants_who_applied_to_it_in_mpii():
    applied = {"10001": ["102"], "10002": ["101", "102"], "10003": ["101"]}
    require_applied_applicants(["10002", "10001"], "102", applied)
    with pytest.raises(RuleViolation) as refused:
        require_applied_applicants(["10001", "10003", "10009"], "102", applied)
    assert refused.value.rule == "M7" and "program 102" in refused.value.detail
    assert [e.field for e in refused.value.errors] == ["applicants[1]", "applicants[2]"]


def test_m7_match_subscribes_to_application_delivered():
    assert "application.delivered.v1" in SUBSCRIPTIONS["match"]


# ----------------------------------------------------------------------------- integration
@pytest.fixture
def clock():
    return ControlledClock(CALENDAR["mpii_rol_opens"] + DAY / 24)


@pytest.fixture
def svc(aws, clock):
    from match import bootstrap
    from match.domain.mpii import MpiiParticipants

    service = build_service(clock, verifier=FakeVerifier(principals()))
    seed_season(applicants=5)
    service.store.save_mpii(SEASON, MpiiParticipants(("10001", "10002", "10003"), {"1021": 1, "1022": 1, "1031": 2}),
                            clock.now())
    yield service
    bootstrap.override(None)


@pytest.fixture
def client(svc):
    from chalice.test import Client

    with Client(match_app()) as c:
        yield c


def call(client, method: str, path: str, who: str, body=None):
    response = getattr(client.http, method.lower())(
        f"/seasons/{SEASON}/mpii{path}", headers={"Content-Type": "application/json", "Authorization": f"Bearer {who}"},
        body=json.dumps(body) if body is not None else None)
    return response.status_code, (json.loads(response.body) if response.body else None)



@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")
def test_m7_mpii_deliveries_are_kept_per_season_only_round_mpii_and_idempotently(svc):
    at = CALENDAR["mpii_applications_open"] + timedelta(hours=2)
    feed(mpii_delivered(1, "102"), mpii_delivered(1, "102"), mpii_delivered(2, "103"),
         ApplicationDelivered(season=SEASON, applicant_id="app-2301-3", program_code="101", round="match",
                              designated_at=at, delivered_at=at),
         mpii_delivered(1, "101", season="2399"))
    assert svc.store.mpii_applications(SEASON) == {"app-2301-1": frozenset({"102"}),
                                                   "app-2301-2": frozenset({"103"})}
    assert svc.store.mpii_applications("2399") == {"app-2399-1": frozenset({"101"})}


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")
def test_m7_over_http_mpii_lists_are_limited_to_mpii_applications(client, svc):
    # no MPII application yet: an MPII participant ranks nothing, a program's list names nobody
    status, body = call(client, "PUT", "/applicants/me/rol", "a1", {"tracks": ["1021"]})
    assert status == 422 and body["rule"] == "M7" and "applied to in MPII" in body["detail"], body
    status, body = call(client, "PUT", "/tracks/1021/rol", "p102", {"applicants": ["10001"]})
    assert status == 422 and body["rule"] == "M7" and body["errors"][0]["field"] == "applicants[0]", body

    feed(mpii_delivered(1, "102"), mpii_delivered(2, "103"),
         ApplicationDelivered(season=SEASON, applicant_id="app-2301-3", program_code="102", round="match",
                              designated_at=CALENDAR["rol_opens"], delivered_at=CALENDAR["rol_opens"]))
    # applicant 1 applied to 102 in MPII: both of 102's MPII tracks, not 103's
    assert call(client, "PUT", "/applicants/me/rol", "a1", {"tracks": ["1022", "1021"]})[0] == 200
    status, body = call(client, "PUT", "/applicants/me/rol", "a1", {"tracks": ["1021", "1031"]})
    assert status == 422 and body["rule"] == "M7" and "1031" in body["detail"], body
    # program 102: applicant 1 only; 2 applied to 103 in MPII, 3 to 102 in the Match round only
    assert call(client, "PUT", "/tracks/1021/rol", "p102", {"applicants": ["10001"]})[0] == 200
    for other in ("10002", "10003"):
        status, body = call(client, "PUT", "/tracks/1021/rol", "p102", {"applicants": ["10001", other]})
        assert status == 422 and body["rule"] == "M7" and other in body["detail"], body
    assert call(client, "PUT", "/tracks/1031/rol", "p103", {"applicants": ["10002"]})[0] == 200
    # the participants' rule still comes first: a non-participant is refused as before (M7)
    status, body = call(client, "PUT", "/tracks/1031/rol", "p103", {"applicants": ["10000"]})
    assert status == 422 and body["rule"] == "M7" and "unmatched" in body["detail"], body


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")
def test_m7_a_delivery_costs_one_put_for_mpii_and_nothing_for_the_match_round_without_idempotency_records(svc):
    from tests.fakes import aws_calls

    at = CALENDAR["mpii_applications_open"] + timedelta(hours=2)
    match_round = ApplicationDelivered(season=SEASON, applicant_id="app-2301-3", program_code="101", round="match",
                                       designated_at=at, delivered_at=at)
    with aws_calls() as seen:
        feed(match_round)
    assert dict(seen) == {}
    for _ in range(2):  # an MPII delivery, then the same event again
        with aws_calls() as seen:
            feed(mpii_delivered(1, "102"))
        assert dict(seen) == {"PutItem": 1}
    assert svc.store.mpii_applications(SEASON) == {"app-2301-1": frozenset({"102"})}
