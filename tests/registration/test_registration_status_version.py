"""Registration versions its facts for consumers (SQS redelivers and does not order):
every status change increments the applicant's status_version in the same conditional
write, the program's version grows with every change, and the events carry them (R7, R8)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_registration_api import ADMIN, CAL, applicant_token, pay, register, season  # noqa: F401  (season: a fixture)

from caspr_local.demo import demo_programs
from shared.contracts import (
    ApplicantRegistered,
    ApplicantReinstated,
    ApplicantWithdrawn,
    ProgramRegistered,
    TrackPositionsChanged,
    TrackReinstated,
    TrackWithdrawn,
)

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")]


def test_r7_withdraw_and_reinstate_bump_status_version_and_events_carry_it(api, reg, season):  # noqa: F811
    applicant_id, token = register(api, reg)
    assert reg.applicants.get(applicant_id).status_version == 0  # pending: no status change yet
    r = pay(api, token, applicant_id)
    assert r.status_code == 201, r.data
    assert reg.applicants.get(applicant_id).status == "registered"
    assert reg.applicants.get(applicant_id).status_version == 1
    assert [e.version for e in reg.publisher.of(ApplicantRegistered)] == [1]
    assert api.call("POST", f"/applicants/{applicant_id}/withdrawal", token, {"reason": "x"}).status_code == 200
    assert api.call("POST", f"/applicants/{applicant_id}/reinstatement", token).status_code == 200
    assert api.call("POST", f"/applicants/{applicant_id}/withdrawal", token).status_code == 200
    assert reg.applicants.get(applicant_id).status_version == 4
    assert [e.version for e in reg.publisher.of(ApplicantWithdrawn)] == [2, 4]
    assert [e.version for e in reg.publisher.of(ApplicantReinstated)] == [3]
    # a refused transition (withdrawing a withdrawn registration) changes nothing
    assert api.call("POST", f"/applicants/{applicant_id}/withdrawal", token).status_code == 409
    assert reg.applicants.get(applicant_id).status_version == 4


def test_r6_r7_closing_unpaid_bumps_status_version(api, reg, season):  # noqa: F811
    from registration.handlers import close_unpaid

    applicant_id, _ = register(api, reg)
    assert close_unpaid(reg, "2024") == 1
    closed = reg.applicants.get(applicant_id)
    assert (closed.status, closed.status_version) == ("closed_unpaid", 1)


def test_r8_program_events_carry_the_program_version(api, reg, season):  # noqa: F811
    assert api.call("POST", "/programs", ADMIN, demo_programs()[1]).status_code == 201  # program 102
    assert [e.version for e in reg.publisher.of(ProgramRegistered)] == [1]
    own = "program:p102:102"
    for positions, version in ((4, 2), (3, 3)):
        r = api.call("PATCH", "/programs/102", own,
                     {"tracks": [{"track_code": "1021", "name": "PMSR/RRA", "positions": positions}]})
        assert r.status_code == 200, r.data
        assert reg.publisher.of(TrackPositionsChanged)[-1].version == version
    assert [e.positions for e in reg.publisher.of(TrackPositionsChanged)] == [4, 3]


def test_m3_a_program_withdraws_and_reinstates_a_track_and_the_events_carry_the_program_version(
        api, reg, season):  # noqa: F811
    assert api.call("POST", "/programs", ADMIN, demo_programs()[1]).status_code == 201  # 102: tracks 1021, 1022
    own, other = "program:p102:102", "program:p101:101"
    withdraw = "/programs/102/tracks/1022/withdrawal"
    assert api.call("POST", withdraw, other, {"reason": "x"}).status_code == 403
    assert api.call("POST", withdraw, applicant_token(reg, "x", "x@x.org")).status_code == 403
    r = api.call("POST", "/programs/102/tracks/1029/withdrawal", own)
    assert r.status_code == 404 and "1029" in r.data["detail"]
    assert reg.programs.get("102").version == 1 and reg.publisher.of(TrackWithdrawn) == []  # refusals change nothing

    r = api.call("POST", withdraw, own, {"reason": "  funding ended  "})
    assert r.status_code == 200, r.data
    assert [(t["track_code"], t["withdrawn"], t["withdrawal_reason"]) for t in r.data["tracks"]] == [
        ("1021", False, None), ("1022", True, "funding ended")]
    [event] = reg.publisher.of(TrackWithdrawn)
    assert (event.track_code, event.positions, event.reason, event.version) == ("1022", 1, "funding ended", 2)
    r = api.call("POST", withdraw, own)
    assert r.status_code == 409 and r.data["rule"] == "M3"
    r = api.call("POST", withdraw, own, {"reason": 5})
    assert r.status_code == 422  # a malformed body is refused before anything is checked

    # a PATCH of the track's positions keeps it withdrawn, and says so in its event
    r = api.call("PATCH", "/programs/102", own, {"tracks": [{"track_code": "1022", "name": "PMSR/RRA", "positions": 2}]})
    assert r.status_code == 200 and r.data["tracks"][1]["withdrawn"] is True
    changed = reg.publisher.of(TrackPositionsChanged)[-1]
    assert (changed.track_code, changed.positions, changed.withdrawn, changed.version) == ("1022", 2, True, 3)
    assert api.call("GET", "/programs/102", applicant_token(reg, "x", "x@x.org")).data["tracks"][1]["withdrawn"]

    r = api.call("POST", "/programs/102/tracks/1022/reinstatement", ADMIN)
    assert r.status_code == 200 and r.data["tracks"][1]["withdrawn"] is False, r.data
    [back] = reg.publisher.of(TrackReinstated)
    assert (back.track_code, back.positions, back.version) == ("1022", 2, 4)
    assert api.call("POST", "/programs/102/tracks/1022/reinstatement", own).status_code == 409

    # reinstatement closes when the Match lists lock (withdrawal stays possible)
    assert api.call("POST", withdraw, own).status_code == 200
    reg.clock.set(CAL["rol_deadline"] + timedelta(minutes=1))
    r = api.call("POST", "/programs/102/tracks/1022/reinstatement", own)
    assert r.status_code == 422 and r.data["rule"] == "M3" and "rol_deadline" in r.data["detail"], r.data
    assert reg.programs.get("102").track("1022").withdrawn
