"""A5 / R4 in registration: the applications service's application.designated.v1 says how many
credits the applicant has spent; registration keeps the highest count seen (events arrive in
any order and more than once), so credits_left agrees in /registration and /applications."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_registration_api import pay, register, season  # noqa: F401  (season: a fixture)
from test_s5_withdrawals import feed

from shared.contracts import ApplicationDesignated

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")]

AT = datetime(2023, 9, 1, 12, 0, tzinfo=UTC)


def designated(applicant_id: str, used: int, program: str = "101", event_id: str | None = None):
    return ApplicationDesignated(season="2024", applicant_id=applicant_id, program_code=program, round="match",
                                 designated_at=AT, credits_used=used, credits_total=12, event_id=event_id)


def test_a5_domain_credits_used_keeps_the_highest_count():
    from registration.domain.rules import Applicant

    a = Applicant(applicant_id="a1", season="2024", first_name="A", last_name="B", email="a@x", cms_id="PRO-1",
                  college="TUSPM", graduation_year=2024, status="registered", credits_total=12, credits_used=3)
    up = a.record_credits_used(5)
    assert (up.state.credits_used, up.state.credits_left, up.events) == (5, 7, ())
    assert a.record_credits_used(2).state == a  # an older count: nothing
    assert a.record_credits_used(3).state == a


def test_a5_designations_spend_credits_in_registration_in_any_order_and_once(api, reg, season):  # noqa: F811
    applicant_id, token = register(api, reg)
    assert pay(api, token, applicant_id).status_code == 201
    before = reg.applicants.get(applicant_id)
    feed(designated(applicant_id, 2, "102", event_id="d2"), designated(applicant_id, 1, "101", event_id="d1"))
    feed(designated(applicant_id, 2, "102", event_id="d2"))  # redelivered
    r = api.call("GET", f"/applicants/{applicant_id}", token)
    assert (r.data["credits_total"], r.data["credits_used"], r.data["credits_left"]) == (12, 2, 10)
    after = reg.applicants.get(applicant_id)
    assert after.status_version == before.status_version  # no status change, nothing announced
    assert reg.publisher.events[-1].detail_type == "applicant.registered.v1"


def test_a5_a_credit_spent_while_the_applicant_changed_meanwhile_is_not_lost(api, reg, season):  # noqa: F811
    """The count is written by one conditional write that moves the version: a save from a state
    read before it is a 409 (reload and decide again), never an undo of the count."""
    from registration import handlers
    from shared.errors import Conflict

    applicant_id, token = register(api, reg)
    assert pay(api, token, applicant_id).status_code == 201
    read_before = reg.applicants.get(applicant_id)
    handlers.record_designation(reg, designated(applicant_id, 4))
    with pytest.raises(Conflict):
        reg.applicants.save(read_before.update_profile({"timezone": "America/New_York"}))
    reg.applicants.save(reg.applicants.get(applicant_id).update_profile({"timezone": "America/New_York"}))
    handlers.record_designation(reg, designated(applicant_id, 3))  # an older count: nothing
    a = reg.applicants.get(applicant_id)
    assert (a.credits_used, a.timezone) == (4, "America/New_York")
    assert a.version == read_before.version + 2


def test_a5_a_designation_costs_one_conditional_write_and_no_idempotency_record(api, reg, season):  # noqa: F811
    from test_s5_withdrawals import sqs_record

    from registration.consumers import consumer
    from tests.fakes import aws_calls

    applicant_id, token = register(api, reg)
    assert pay(api, token, applicant_id).status_code == 201
    with aws_calls() as made:
        for used in (1, 1, 0):  # a count, its redelivery, an older count
            assert consumer.handle({"Records": [sqs_record(designated(applicant_id, used))]}) == {
                "batchItemFailures": []}
    assert made == {"UpdateItem": 3, "GetItem": 2}  # refused twice (then read: the applicant exists), no write
    assert reg.applicants.get(applicant_id).credits_used == 1
