"""M3 / S5 in the match service: applicant.match_withdrawn.v1 (registration, at part2_pass_by:
no Part II Written pass) makes the applicant withdrawn for the Match while the registration
stays: flagged on others' lists, named in the snapshot's `withdrawn`, skipped by the run, not
in MPII; applied by version, once, whatever the order of the registration events."""

from __future__ import annotations

import json

import pytest
from match_service_support import (
    ADMIN,
    CALENDAR,
    DAY,
    SEASON,
    build_service,
    feed,
    principals,
    program_principal,
    seed_season,
    sqs_record,
    submit_lists,
)

from shared.clock import ControlledClock
from shared.contracts import ApplicantMatchWithdrawn, ApplicantReinstated, ApplicantWithdrawn
from shared.events import envelope
from tests.fakes import FakeVerifier

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")]
REASON = "S5: no APMLE Part II Written pass by part2_pass_by: withdrawn from the Match"


@pytest.fixture
def svc(aws):
    from match import bootstrap

    service = build_service(ControlledClock(CALENDAR["rol_opens"] + DAY), verifier=FakeVerifier(principals()))
    yield service
    bootstrap.override(None)


def match_withdrawn(applicant_id: str, code: str, version: int = 2) -> ApplicantMatchWithdrawn:
    return ApplicantMatchWithdrawn(season=SEASON, applicant_id=applicant_id, code_number=code, reason=REASON,
                                   version=version)


def test_m3_a_match_withdrawn_applicant_is_flagged_on_lists_and_named_in_the_snapshot(svc):
    from match import handlers
    from match.workflow import _document

    ids = seed_season(applicants=8)
    submit_lists(svc)
    feed(match_withdrawn(ids[0], "10000"))
    a = svc.store.applicant(SEASON, ids[0])
    assert a.status == "registered" and a.match_withdrawn and a.withdrawn
    assert handlers.get_applicant_rol(svc, SEASON, "match", ids[0], ADMIN)["withdrawn"] is True
    view = handlers.get_track_rol(svc, SEASON, "match", "1011", program_principal("101"))
    flags = {e["code_number"]: e["withdrawn"] for e in view["applicants"]}
    assert flags["10000"] is True and flags["10001"] is False  # stays on the track's list, flagged
    doc = _document(svc, SEASON, "match")
    assert doc["withdrawn"] == ["10000"] and "10000" in doc["tracks"]["1011"]["ranks"]


def test_m3_a_match_withdrawn_applicant_is_skipped_by_the_run():
    from match.domain.engine import solve
    from match.domain.snapshot import parse_snapshot

    doc = {"applicants": {"10000": ["1011"], "10001": ["1011"]},
           "tracks": {"1011": {"positions": 1, "ranks": ["10000", "10001"]}}, "withdrawn": ["10000"]}
    result = solve(parse_snapshot(doc))
    assert dict(result.matches) == {"10000": None, "10001": "1011"}


def test_m3_match_withdrawn_redelivered_is_applied_once(svc):
    from match.consumers import handle_batch

    ids = seed_season(applicants=2)
    body = json.dumps(envelope(match_withdrawn(ids[1], "10001", version=2), event_id="evt-mw"))
    for _ in range(2):  # the same event twice (same id), then the same fact with another id
        assert handle_batch({"Records": [sqs_record(body)]})["batchItemFailures"] == []
    assert svc.store.set_match_withdrawn(SEASON, ids[1], "10001", 2) is False  # held already
    assert svc.store.set_match_withdrawn(SEASON, ids[1], "10001", 1) is False  # stale
    assert svc.store.applicant(SEASON, ids[1]).withdrawn
    assert not svc.store.applicant(SEASON, ids[0]).withdrawn


def test_m3_match_withdrawal_survives_later_status_events_in_any_order(svc):
    ids = seed_season(applicants=1)
    feed(match_withdrawn(ids[0], "10000", version=2))
    feed(ApplicantWithdrawn(season=SEASON, applicant_id=ids[0], code_number="10000", reason="x", version=3))
    feed(ApplicantReinstated(season=SEASON, applicant_id=ids[0], code_number="10000", version=4))
    a = svc.store.applicant(SEASON, ids[0])
    assert (a.status, a.match_withdrawn, a.withdrawn) == ("registered", True, True)


def test_m3_match_withdrawn_before_the_registration_event_arrives(svc):
    from shared.contracts import ApplicantRegistered

    seed_season(applicants=0)
    feed(match_withdrawn("early", "20000", version=2))
    feed(ApplicantRegistered(season=SEASON, applicant_id="early", code_number="20000", cms_id="PRO-000000098",
                             email="early@test.caspr", first_name="E", last_name="Arly", college="TUSPM",
                             graduation_year=2031, timezone="America/Chicago", credits_total=12, version=1))
    a = svc.store.applicant(SEASON, "early")
    assert (a.status, a.email, a.withdrawn) == ("registered", "early@test.caspr", True)


def test_m3_m7_a_match_withdrawn_applicant_takes_no_part_in_mpii():
    from match.domain.mpii import mpii_participants
    from match.domain.rol import ApplicantInfo

    people = [ApplicantInfo(SEASON, "a", "10000", match_withdrawn=True), ApplicantInfo(SEASON, "b", "10001")]
    assert mpii_participants(people, [], {"1011": 1}).applicant_codes == ("10001",)
