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


def _registered(n: int, version: int | None, timezone: str = "America/Chicago") -> ApplicantRegistered:
    return ApplicantRegistered(
        season=SEASON, applicant_id=f"app-{SEASON}-{n}", code_number=f"{10000 + n}", cms_id=f"PRO-{n:09d}",
        email=f"A{n}@Test.caspr ", first_name=f"First{n}", last_name=f"Last{n}", college="TUSPM",
        graduation_year=2031, timezone=timezone, credits_total=12, owner_sub=f"sub-applicant-{n}", version=version)


def test_a_registration_is_projected_in_one_update_and_one_batch_of_pointers(svc):
    """applicant.registered.v1 costs the match service one UpdateItem (facts, status of its
    version, time zone) and one BatchWriteItem (code, email and account pointers), not 2 + 1 + 3
    writes; a stale redelivery one more UpdateItem (the facts without the status)."""
    from match import consumers, handlers
    from tests.fakes import aws_calls

    seed_season(applicants=0)
    apply = consumers._handlers()[ApplicantRegistered]
    with aws_calls() as seen:
        apply(_registered(1, version=2))
    assert dict(seen) == {"UpdateItem": 1, "BatchWriteItem": 1}
    a = svc.store.applicant(SEASON, f"app-{SEASON}-1")
    assert (a.status, a.email, a.timezone, a.owner_sub) == ("registered", "a1@test.caspr", "America/Chicago",
                                                            "sub-applicant-1")
    assert svc.store.applicant_by_code(SEASON, "10001") == a == svc.store.applicant_for_email(SEASON, "a1@test.caspr")
    assert svc.store.applicant_for_account(SEASON, "sub-applicant-1") == a

    feed(ApplicantWithdrawn(season=SEASON, applicant_id=a.applicant_id, code_number="10001", reason="x", version=3))
    svc.store.set_applicant_timezone(SEASON, a.applicant_id, "Europe/Paris", version=1)  # a profile change
    with aws_calls() as seen:  # redelivered: the facts are rewritten, the newer status and the profile's zone stay
        apply(_registered(1, version=2, timezone="America/Denver"))
    assert dict(seen) == {"UpdateItem": 2, "BatchWriteItem": 1}
    a = svc.store.applicant(SEASON, a.applicant_id)
    assert (a.status, a.timezone) == ("withdrawn", "Europe/Paris")

    handlers.on_applicant_withdrawn(svc, ApplicantWithdrawn(season=SEASON, applicant_id=f"app-{SEASON}-2",
                                                             code_number="10002", reason="x"))  # unversioned, first
    apply(_registered(2, version=1))  # an older producer's withdrawal stays
    assert status(svc, f"app-{SEASON}-2") == "withdrawn"
    apply(_registered(3, version=None, timezone=""))
    a3 = svc.store.applicant(SEASON, f"app-{SEASON}-3")
    assert (a3.status, a3.timezone) == ("registered", None)
