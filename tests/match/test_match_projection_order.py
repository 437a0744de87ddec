"""The match projection applies registration events by their version, not by arrival:
SQS standard queues do not order and redeliver failed batch items later, so a stale
withdrawal or a retried ProgramRegistered must not overwrite a newer fact (M2, M3)."""

from __future__ import annotations

import pytest
from match_service_support import (
    CALENDAR,
    DAY,
    SEASON,
    build_service,
    feed,
    principals,
    seed_season,
)

from shared.clock import ControlledClock
from shared.contracts import (
    ApplicantRegistered,
    ApplicantReinstated,
    ApplicantWithdrawn,
    ProgramRegistered,
    SeasonCalendarSet,
    TrackInfo,
    TrackPositionsChanged,
)
from tests.fakes import FakeVerifier

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")]


@pytest.fixture
def svc(aws):
    from match import bootstrap

    service = build_service(ControlledClock(CALENDAR["rol_opens"] + DAY), verifier=FakeVerifier(principals()))
    yield service
    bootstrap.override(None)


def status(svc, applicant_id):
    return svc.store.applicant(SEASON, applicant_id).status


def test_m3_redelivered_stale_withdrawal_does_not_withdraw_a_reinstated_applicant(svc):
    ids = seed_season(applicants=2)
    feed(ApplicantReinstated(season=SEASON, applicant_id=ids[0], code_number="10000", version=3))
    feed(ApplicantWithdrawn(season=SEASON, applicant_id=ids[0], code_number="10000", reason="x", version=2))
    assert status(svc, ids[0]) == "registered"
    assert ids[0] in {a.applicant_id for a in svc.store.applicants(SEASON) if a.status == "registered"}
    feed(ApplicantWithdrawn(season=SEASON, applicant_id=ids[0], code_number="10000", reason="x", version=4))
    assert status(svc, ids[0]) == "withdrawn"  # a newer withdrawal applies
    feed(ApplicantReinstated(season=SEASON, applicant_id=ids[0], code_number="10000", version=3))
    assert status(svc, ids[0]) == "withdrawn"  # and a redelivered older reinstatement does not undo it


def test_m3_late_registration_event_keeps_a_newer_withdrawal(svc):
    seed_season(applicants=0)
    feed(ApplicantWithdrawn(season=SEASON, applicant_id="late", code_number="20000", reason="x", version=2))
    feed(ApplicantRegistered(season=SEASON, applicant_id="late", code_number="20000", cms_id="PRO-000000099",
                             email="late@test.caspr", first_name="L", last_name="Ate", college="TUSPM",
                             graduation_year=2031, timezone="America/Chicago", credits_total=12, version=1))
    late = svc.store.applicant(SEASON, "late")
    assert (late.status, late.email) == ("withdrawn", "late@test.caspr")


def test_m3_events_without_version_keep_the_last_write_behaviour(svc):
    ids = seed_season(applicants=1)
    feed(ApplicantWithdrawn(season=SEASON, applicant_id=ids[0], code_number="10000", reason="x"))
    assert status(svc, ids[0]) == "withdrawn"
    feed(ApplicantReinstated(season=SEASON, applicant_id=ids[0], code_number="10000"))
    assert status(svc, ids[0]) == "registered"


def test_m2_redelivered_program_registered_does_not_lower_changed_positions(svc):
    seed_season(applicants=0)  # 1011: 2 positions, unversioned
    feed(TrackPositionsChanged(season=SEASON, program_code="101", track_code="1011", name="PMSR/RRA 1011",
                               positions=5, version=2))
    feed(ProgramRegistered(season=SEASON, program_code="101", name="Program 101", coth=True, crip=False,
                           tracks=[TrackInfo(track_code="1011", name="PMSR/RRA 1011", positions=2)], version=1))
    assert svc.store.tracks(SEASON)["1011"].positions == 5
    feed(TrackPositionsChanged(season=SEASON, program_code="101", track_code="1011", name="PMSR/RRA 1011",
                               positions=3, version=3))
    assert svc.store.tracks(SEASON)["1011"].positions == 3
    assert svc.store.tracks(SEASON)["1011"].program_name == "Program 101"


def test_a_redelivered_older_calendar_does_not_move_the_instants_back(svc):
    """An administrator moves match_day (calendar version 2); the version-1 event is redelivered
    after it. The match service must keep version 2's instants: it releases results by them."""
    seed_season(applicants=0)  # the calendar without a version (an older producer)
    moved = {**CALENDAR, "match_day": CALENDAR["match_day"] + DAY}
    feed(SeasonCalendarSet(season=SEASON, calendar=moved, version=2))
    assert svc.store.calendar(SEASON).instants["match_day"] == moved["match_day"]
    feed(SeasonCalendarSet(season=SEASON, calendar=CALENDAR, version=1))
    assert svc.store.calendar(SEASON).instants["match_day"] == moved["match_day"]
    feed(SeasonCalendarSet(season=SEASON, calendar=CALENDAR, version=3))  # a newer one applies
    assert svc.store.calendar(SEASON).instants["match_day"] == CALENDAR["match_day"]
