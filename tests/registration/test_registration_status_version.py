"""Registration versions its facts for consumers (SQS redelivers and does not order):
every status change increments the applicant's status_version in the same conditional
write, the program's version grows with every change, and the events carry them (R7, R8)."""

from __future__ import annotations

import pytest
from test_registration_api import ADMIN, pay, register, season  # noqa: F401  (season: a fixture)

from caspr_local.demo import demo_programs
from shared.contracts import (
    ApplicantRegistered,
    ApplicantReinstated,
    ApplicantWithdrawn,
    ProgramRegistered,
    TrackPositionsChanged,
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
