"""S5 in registration: the scores service's scores.withdrawal_due.v1 withdraws the applicant
from CASPR (scope caspr, as R7 does) or from the Match (scope match: the registration stays,
match_withdrawn shown and announced as applicant.match_withdrawn.v1), through the aggregate's
domain method and the versioned save; each applied once, also when redelivered."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from test_registration_api import pay, register, season  # noqa: F401  (season: a fixture)

from shared.contracts import ApplicantMatchWithdrawn, ApplicantWithdrawn, ScoresWithdrawalDue
from shared.events import envelope

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")]

AT = datetime(2023, 10, 31, 23, 59, tzinfo=UTC)
PART1 = "S5: no APMLE Part I pass by part1_pass_by: withdrawn from CASPR"
PART2 = "S5: no APMLE Part II Written pass by part2_pass_by: withdrawn from the Match"


def due(applicant_id: str, scope: str, reason: str | None = None, event_id: str | None = None):
    reason = reason or (PART1 if scope == "caspr" else PART2)
    return ScoresWithdrawalDue(season="2024", applicant_id=applicant_id, scope=scope, rule="S5", reason=reason,
                               deadline_key="part1_pass_by" if scope == "caspr" else "part2_pass_by", at=AT,
                               event_id=event_id)


def sqs_record(event) -> dict:
    return {"messageId": str(uuid.uuid4()), "receiptHandle": "handle",
            "body": json.dumps(envelope(event, event_id=event.event_id)),
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "x",
                           "ApproximateFirstReceiveTimestamp": "0"},
            "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:caspr-local-registration-events",
            "awsRegion": "us-east-1"}


def feed(*events) -> None:
    """As EventBridge -> SQS -> the registration consumer, then the relay."""
    from registration import bootstrap
    from registration.consumers import consumer

    out = consumer.handle({"Records": [sqs_record(e) for e in events]})
    assert out["batchItemFailures"] == [], out
    bootstrap.outbox().sweep(older_than=0)


def registered(api, reg, n: int = 0) -> tuple[str, str]:
    applicant_id, token = register(api, reg, sub=f"sub-{n}", email=f"a{n}@caspr.example", cms_id=f"pro-{n:09d}")
    assert pay(api, token, applicant_id, key=f"k-{n}").status_code == 201
    return applicant_id, token


# ----------------------------------------------------------------------------- domain
def test_s5_domain_withdraw_for_scores_names_s5_and_is_idempotent():
    from registration.domain.rules import Applicant

    a = Applicant(applicant_id="a1", season="2024", first_name="A", last_name="B", email="a@x", cms_id="PRO-1",
                  college="TUSPM", graduation_year=2024, status="registered", code_number="12345",
                  status_version=1, version=2)
    change = a.withdraw_for_scores("no Part I pass", AT)
    assert change.state.status == "withdrawn" and change.state.withdrawal_reason == "S5: no Part I pass"
    assert change.state.status_version == 2 and [e.version for e in change.events] == [2]
    again = change.state.withdraw_for_scores("no Part I pass", AT)
    assert again.state == change.state and again.events == ()
    closed = Applicant(**{**a.__dict__, "status": "closed_unpaid", "code_number": None})
    assert closed.withdraw_for_scores(PART1, AT).events == ()


def test_s5_domain_withdraw_from_match_keeps_the_registration_and_bumps_the_status_version():
    from registration.domain.rules import Applicant

    a = Applicant(applicant_id="a1", season="2024", first_name="A", last_name="B", email="a@x", cms_id="PRO-1",
                  college="TUSPM", graduation_year=2024, status="registered", code_number="12345",
                  status_version=1, version=2)
    change = a.withdraw_from_match(PART2, AT)
    s = change.state
    assert (s.status, s.match_withdrawn, s.match_withdrawal_reason, s.status_version) == (
        "registered", True, PART2, 2)
    assert [(type(e), e.version, e.code_number) for e in change.events] == [(ApplicantMatchWithdrawn, 2, "12345")]
    assert s.withdraw_from_match(PART2, AT).events == ()
    pending = Applicant(**{**a.__dict__, "status": "pending_payment", "code_number": None})
    assert pending.withdraw_from_match(PART2, AT).state == pending


# ----------------------------------------------------------------------------- through the consumer
def test_s5_caspr_scope_withdraws_as_r7_with_the_reason_and_announces_it(api, reg, season):  # noqa: F811
    applicant_id, token = registered(api, reg)
    feed(due(applicant_id, "caspr", event_id="evt-1"))
    r = api.call("GET", f"/applicants/{applicant_id}", token)
    assert r.status_code == 200, r.data
    assert r.data["status"] == "withdrawn" and "S5" in r.data["withdrawal_reason"]
    assert r.data["match_withdrawn"] is False
    withdrawn = reg.publisher.of(ApplicantWithdrawn)
    assert [(e.applicant_id, e.reason, e.version) for e in withdrawn] == [(applicant_id, PART1, 2)]


def test_s5_caspr_scope_redelivered_is_applied_once(api, reg, season):  # noqa: F811
    applicant_id, _ = registered(api, reg)
    event = due(applicant_id, "caspr", event_id="evt-same")
    feed(event)
    feed(event)  # the same event redelivered (same id)
    feed(due(applicant_id, "caspr", event_id="evt-other"))  # sent again with another id: nothing either
    assert len(reg.publisher.of(ApplicantWithdrawn)) == 1
    a = reg.applicants.get(applicant_id)
    assert (a.status, a.status_version) == ("withdrawn", 2)


def test_s5_caspr_scope_leaves_an_applicant_who_withdrew_before_as_is(api, reg, season):  # noqa: F811
    applicant_id, token = registered(api, reg)
    assert api.call("POST", f"/applicants/{applicant_id}/withdrawal", token, {"reason": "family"}).status_code == 200
    feed(due(applicant_id, "caspr", event_id="evt-2"))
    a = reg.applicants.get(applicant_id)
    assert (a.status, a.withdrawal_reason, a.status_version) == ("withdrawn", "family", 2)
    assert len(reg.publisher.of(ApplicantWithdrawn)) == 1


def test_s5_caspr_scope_retries_a_409_by_reloading(api, reg, season, monkeypatch):  # noqa: F811
    from registration import handlers

    applicant_id, _ = registered(api, reg)
    real_save, calls = reg.applicants.save, []

    def save_once_stale(change, **kw):
        calls.append(change.state.version)
        if len(calls) == 1:  # another change commits between the read and the save
            real_save(reg.applicants.get(applicant_id).update_profile({"phone": "+1 312 555 0100"}))
        return real_save(change, **kw)

    monkeypatch.setattr(reg.applicants, "save", save_once_stale)
    handlers.withdraw_for_scores(reg, due(applicant_id, "caspr"))
    a = reg.applicants.get(applicant_id)
    assert a.status == "withdrawn" and a.phone == "+1 312 555 0100"  # no lost update
    assert calls[1] == calls[0] + 1


def test_s5_match_scope_keeps_the_registration_and_says_so(api, reg, season):  # noqa: F811
    applicant_id, token = registered(api, reg)
    feed(due(applicant_id, "match", event_id="evt-m1"))
    r = api.call("GET", f"/applicants/{applicant_id}", token)
    assert r.status_code == 200, r.data
    assert r.data["status"] == "registered"
    assert r.data["match_withdrawn"] is True and "S5" in r.data["match_withdrawal_reason"]
    assert r.data["match_withdrawn_at"] is not None
    events = reg.publisher.of(ApplicantMatchWithdrawn)
    code = reg.applicants.get(applicant_id).code_number
    assert [(e.applicant_id, e.code_number, e.reason, e.version) for e in events] == [(applicant_id, code, PART2, 2)]
    assert reg.publisher.of(ApplicantWithdrawn) == []


def test_s5_match_scope_redelivered_is_applied_once(api, reg, season):  # noqa: F811
    applicant_id, _ = registered(api, reg)
    event = due(applicant_id, "match", event_id="evt-m-same")
    feed(event)
    feed(event)
    feed(due(applicant_id, "match", event_id="evt-m-other"))
    assert len(reg.publisher.of(ApplicantMatchWithdrawn)) == 1
    assert reg.applicants.get(applicant_id).status_version == 2


def test_s5_match_scope_then_withdrawal_and_reinstatement_keep_the_match_withdrawal(api, reg, season):  # noqa: F811
    applicant_id, token = registered(api, reg)
    feed(due(applicant_id, "match", event_id="evt-m3"))
    assert api.call("POST", f"/applicants/{applicant_id}/withdrawal", token).status_code == 200
    assert api.call("POST", f"/applicants/{applicant_id}/reinstatement", token).status_code == 200
    r = api.call("GET", f"/applicants/{applicant_id}", token)
    assert (r.data["status"], r.data["match_withdrawn"]) == ("registered", True)
    assert reg.applicants.get(applicant_id).status_version == 4


def test_s5_a_pending_registration_is_withdrawn_at_part1_pass_by_but_not_from_the_match(api, reg, season):  # noqa: F811
    applicant_id, _ = register(api, reg, sub="sub-p", email="p@caspr.example", cms_id="pro-000000077")
    feed(due(applicant_id, "match", event_id="evt-p1"))
    assert reg.applicants.get(applicant_id).match_withdrawn is False
    feed(due(applicant_id, "caspr", event_id="evt-p2"))
    a = reg.applicants.get(applicant_id)
    assert a.status == "withdrawn" and a.status_before_withdrawal == "pending_payment"


def test_s5_an_event_for_an_unknown_applicant_is_ignored(api, reg, season):  # noqa: F811
    feed(due("no-such-applicant", "caspr", event_id="evt-x"))
    assert reg.publisher.of(ApplicantWithdrawn) == []


def test_s5_caspr_scope_redelivered_after_a_reinstatement_changes_nothing(api, reg, season):  # noqa: F811
    applicant_id, token = registered(api, reg)
    event = due(applicant_id, "caspr", event_id="evt-r1")
    feed(event)
    assert api.call("POST", f"/applicants/{applicant_id}/reinstatement", token).status_code == 200
    feed(due(applicant_id, "caspr", event_id="evt-r2"))  # the same fact again (its idempotency record gone)
    a = reg.applicants.get(applicant_id)
    assert (a.status, a.status_version) == ("registered", 3)
    assert len(reg.publisher.of(ApplicantWithdrawn)) == 1
