"""The registration service through its HTTP routes (chalice.test.Client), on the
in-process AWS emulator, with fakes only for what leaves the process (tokens, card
processor, email, events)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import boto3
import pytest

from caspr_local.demo import CALENDAR_2024, demo_programs
from registration.adapters.payments import LocalTestProvider, ProviderUnavailable
from registration.domain.calendar import parse_calendar
from shared.contracts import (
    ApplicantProfileUpdated,
    ApplicantRegistered,
    ApplicantReinstated,
    ApplicantWithdrawn,
    CreditsPurchased,
    ProgramRegistered,
    ProgramUpdated,
    RegistrationClosedUnpaid,
    SeasonCalendarSet,
    SeasonDeadlineReached,
    TrackPositionsChanged,
)
from shared.events import envelope

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")]
ADMIN = "admin:admin-1"
CAL = parse_calendar("2024", CALENDAR_2024)
GOOD_CARD = "4242424242424242"


def applicant_token(reg, sub: str, email: str) -> str:
    reg.accounts.emails[sub] = email
    return f"applicant:{sub}"


@pytest.fixture
def season(api):
    r = api.call("PUT", "/seasons/2024", ADMIN, CALENDAR_2024)
    assert r.status_code == 201, r.data
    return "2024"


def body(**kw):
    base = {"season": "2024", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@caspr.example",
            "cms_id": "pro-2t8p48f5h", "college": "TUSPM", "graduation_year": 2024}
    return {**base, **kw}


def register(api, reg, sub="sub-ada", **kw):
    b = body(**kw)
    token = applicant_token(reg, sub, b["email"])
    r = api.call("POST", "/applicants", token, b)
    assert r.status_code == 201, r.data
    return r.data["applicant_id"], token


def pay(api, token, applicant_id, key="k1", amount=55_000, card=GOOD_CARD):
    return api.call("POST", f"/applicants/{applicant_id}/payments", token,
                    {"amount_cents": amount, "card_number": card}, headers={"Idempotency-Key": key})


# ------------------------------------------------------------------------------- the calendar
def test_calendar_arms_one_schedule_per_instant_and_publishes(api, reg, season):
    client = boto3.client("scheduler")
    group = reg.platform.settings.scheduler_group
    names = {s["Name"] for s in client.list_schedules(GroupName=group)["Schedules"]}
    assert len(names) == 23 and "2024-registration_final" in names
    s = client.get_schedule(GroupName=group, Name="2024-registration_final")
    assert s["ScheduleExpression"] == "at(2024-02-16T04:59:00)"
    assert s["ScheduleExpressionTimezone"] == "UTC" and s["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert s["Target"]["Arn"] == reg.platform.settings.event_bus_arn
    assert s["Target"]["RoleArn"] == reg.platform.settings.scheduler_role_arn
    assert s["Target"]["EventBridgeParameters"] == {"DetailType": "season.deadline_reached.v1",
                                                    "Source": "caspr.scheduler"}
    detail = SeasonDeadlineReached.model_validate(json.loads(s["Target"]["Input"]))
    assert detail.key == "registration_final" and detail.at == CAL["registration_final"]
    assert reg.publisher.of(SeasonCalendarSet)[0].calendar["match_day"] == CAL["match_day"]

    moved = {**CALENDAR_2024, "match_day": "2024-03-14T12:00:00-04:00"}
    r = api.call("PUT", "/seasons/2024", ADMIN, moved)
    assert r.status_code == 200, r.data  # updated, not created
    assert r.data["version"] == 2
    moved_at = datetime.fromisoformat("2024-03-14T16:00:00+00:00")
    s = client.get_schedule(GroupName=group, Name="2024-match_day")
    assert s["ScheduleExpression"] == "at(2024-03-14T16:00:00)"
    assert len(client.list_schedules(GroupName=group)["Schedules"]) == 23

    r = api.call("GET", "/seasons/2024", applicant_token(reg, "x", "x@caspr.example"))
    assert r.status_code == 200 and r.data["calendar"]["match_day"] == "2024-03-14T16:00:00Z"
    assert r.data["version"] == 2
    # every event carries its calendar's version: consumers keep the newest whatever the order
    assert [e.version for e in reg.publisher.of(SeasonCalendarSet)] == [1, 2]
    assert reg.publisher.of(SeasonCalendarSet)[1].calendar["match_day"] == moved_at


def test_calendar_set_twice_at_once_leaves_the_newest_armed(api, reg, season, monkeypatch):
    """Two PUTs of one season interleave: the first arms its (older) calendar after the second
    stored and armed the newer one. The schedules must end as the stored calendar's."""
    from registration.handlers import set_calendar

    moved = {**CALENDAR_2024, "match_day": "2024-03-14T12:00:00-04:00"}
    scheduler = reg.calendar_scheduler
    real_arm, armed = scheduler.arm, []

    def arm(calendar):
        armed.append(calendar.version)
        if len(armed) == 1:  # while PUT A (version 2) arms, PUT B stores and arms version 3
            real_arm(calendar)
            set_calendar(reg, "2024", moved)
            return real_arm(calendar)  # ... and A's stale arming lands last
        return real_arm(calendar)

    monkeypatch.setattr(scheduler, "arm", arm)
    set_calendar(reg, "2024", CALENDAR_2024)
    assert armed == [2, 3, 3]  # A saw version 3 stored after arming and armed it again
    s = boto3.client("scheduler").get_schedule(GroupName=reg.platform.settings.scheduler_group,
                                               Name="2024-match_day")
    assert s["ScheduleExpression"] == "at(2024-03-14T16:00:00)"
    assert api.call("GET", "/seasons/2024", ADMIN).data["version"] == 3


def test_calendar_refusals_name_the_keys(api, reg):
    bad = {**CALENDAR_2024, "crip_end": "2024-01-10T08:00:00-06:00"}
    r = api.call("PUT", "/seasons/2024", ADMIN, bad)
    assert r.status_code == 422 and r.headers["Content-Type"] == "application/problem+json"
    assert "crip_start" in r.data["detail"] and "crip_end" in r.data["detail"]
    r = api.call("PUT", "/seasons/2024", ADMIN, {k: v for k, v in CALENDAR_2024.items() if k != "match_day"})
    assert r.status_code == 422 and r.data["errors"] == [{"field": "match_day", "message": "is required"}]
    r = api.call("PUT", "/seasons/24", ADMIN, CALENDAR_2024)
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "season"
    r = api.call("PUT", "/seasons/2024", applicant_token(reg, "x", "x@caspr.example"), CALENDAR_2024)
    assert r.status_code == 403
    assert api.call("GET", "/seasons/2031", ADMIN).status_code == 404
    assert not boto3.client("scheduler").list_schedules(GroupName=reg.platform.settings.scheduler_group)["Schedules"]


# ------------------------------------------------------------------------------- R1 / R5 / R6
def test_r1_registration_pending_payment_with_cms_id_upper_case(api, reg, season):
    applicant_id, token = register(api, reg)
    r = api.call("GET", f"/applicants/{applicant_id}", token)
    assert r.status_code == 200
    a = r.data
    assert (a["status"], a["cms_id"], a["amount_due_cents"], a["timezone"], a["code_number"]) == (
        "pending_payment", "PRO-2T8P48F5H", 55_000, "America/Chicago", None)
    r = api.call("GET", "/applicants", token)
    assert [x["applicant_id"] for x in r.data["applicants"]] == [applicant_id]


def test_r1_wrong_cms_id_and_foreign_email_refused(api, reg, season):
    token = applicant_token(reg, "sub-1", "ada@caspr.example")
    r = api.call("POST", "/applicants", token, body(cms_id="PRO-2T8P48F5"))
    assert r.status_code == 422 and r.data["rule"] == "R1" and r.data["type"].endswith("/R1")
    assert "PRO-2T8P48F5H" in r.data["errors"][0]["message"]
    r = api.call("POST", "/applicants", token, body(email="someone.else@caspr.example"))
    assert r.status_code == 422 and r.data["errors"][0] == {"field": "email", "message": "must be ada@caspr.example"}
    r = api.call("POST", "/applicants", token, body(season="2031"))
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "season"
    r = api.call("POST", "/applicants", token, body(graduation_year="soon"))
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "graduation_year"
    r = api.call("POST", "/applicants", "program:p:101", body())
    assert r.status_code == 403


def test_r5_second_registration_same_cms_id_or_email_refused(api, reg, season):
    register(api, reg)
    r = api.call("POST", "/applicants", ADMIN, body(email="other@caspr.example", cms_id="PRO-2T8P48F5H"))
    assert r.status_code == 409 and r.data["rule"] == "R5"
    assert r.data["errors"] == [{"field": "cms_id", "message": "already registered this season"}]
    r = api.call("POST", "/applicants", ADMIN, body(email="ADA@Caspr.Example", cms_id="ABC-000000001"))
    assert r.status_code == 409 and r.data["errors"][0]["field"] == "email"
    # another season is another registration
    cal_2025 = {k: (v + timedelta(days=365)).isoformat() for k, v in CAL.instants.items()}
    assert api.call("PUT", "/seasons/2025", ADMIN, cal_2025).status_code == 201
    r = api.call("POST", "/applicants", ADMIN, body(season="2025"))
    assert r.status_code == 422 and r.data["rule"] == "R6"  # 2025's registration is not open yet
    reg.clock.set(CAL["registration_opens"] + timedelta(days=365))
    assert api.call("POST", "/applicants", ADMIN, body(season="2025")).status_code == 201


def test_r6_window_warning_and_refusal(api, reg, season):
    reg.clock.set(CAL["registration_opens"] - timedelta(minutes=1))
    r = api.call("POST", "/applicants", ADMIN, body())
    assert r.status_code == 422 and r.data["rule"] == "R6" and "2023-07-24T16:00:00Z" in r.data["detail"]
    reg.clock.set(CAL["registration_recommended_by"] + timedelta(minutes=1))
    r = api.call("POST", "/applicants", ADMIN, body())
    assert r.status_code == 201 and len(r.data["warnings"]) == 1 and "R6" in r.data["warnings"][0]
    reg.clock.set(CAL["registration_final"] + timedelta(minutes=1))
    r = api.call("POST", "/applicants", ADMIN, body(cms_id="ABC-000000002", email="b@caspr.example"))
    assert r.status_code == 422 and r.data["rule"] == "R6" and "2024-02-16T04:59:00Z" in r.data["detail"]


# ------------------------------------------------------------------------------- R2 / R3
def test_r2_r3_payment_registers_with_code_number_ledger_email_and_event(api, reg, season):
    applicant_id, token = register(api, reg)
    r = pay(api, token, applicant_id)
    assert r.status_code == 201, r.data
    code = r.data["code_number"]
    assert r.data["status"] == "succeeded" and len(code) == 5 and 10_000 <= int(code) <= 99_999
    a = api.call("GET", f"/applicants/{applicant_id}", token).data
    assert (a["status"], a["code_number"], a["credits_total"], a["amount_due_cents"]) == ("registered", code, 12, 0)
    ledger = api.call("GET", f"/applicants/{applicant_id}/ledger", token).data
    assert [(e["kind"], e["part"], e["amount_cents"]) for e in ledger["entries"]] == [
        ("charge", "applicant_fee", 30_000), ("charge", "interview_fee", 25_000)]
    assert ledger["balance_cents"] == 55_000
    [mail] = reg.mailer.sent
    assert mail.to == "ada@caspr.example" and code in mail.subject and code in mail.body
    [event] = reg.publisher.of(ApplicantRegistered)
    assert event.code_number == code and event.credits_total == 12 and event.cms_id == "PRO-2T8P48F5H"
    assert event.owner_sub  # match ties the signed-in applicant to its rank order list by it


def test_r2_retry_with_same_key_never_charges_twice(api, reg, season):
    applicant_id, token = register(api, reg)
    first = pay(api, token, applicant_id, key="same")
    again = pay(api, token, applicant_id, key="same")
    assert first.status_code == again.status_code == 201
    assert first.data == again.data
    assert len(reg.payments.charges) == 1
    assert len(api.call("GET", f"/applicants/{applicant_id}/ledger", token).data["entries"]) == 2
    r = pay(api, token, applicant_id, key="same", card="4000000000000002")
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "Idempotency-Key"
    r = pay(api, token, applicant_id, key="another")
    assert r.status_code == 409 and r.data["rule"] == "R2" and "already paid" in r.data["detail"]
    assert len(reg.payments.charges) == 1


def test_r2_payment_refusals(api, reg, season):
    applicant_id, token = register(api, reg)
    r = api.call("POST", f"/applicants/{applicant_id}/payments", token, {"amount_cents": 55_000,
                                                                         "card_number": GOOD_CARD})
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "Idempotency-Key"
    r = pay(api, token, applicant_id, amount=30_000)
    assert r.status_code == 422 and r.data["errors"][0] == {"field": "amount_cents", "message": "must be 55000"}
    r = pay(api, token, applicant_id, key="d", card="4000000000000002")
    assert r.status_code == 402 and r.data["errors"][0]["field"] == "card_number"
    r = pay(api, token, applicant_id, key="e", card="5555555555554444")
    assert r.status_code == 402 and "test card" in r.data["detail"]
    r = pay(api, token, applicant_id, key="t", card="4000000000000119")
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    r = pay(api, token, applicant_id, key="t", card="4000000000000119")  # not stuck "in progress"
    assert r.status_code == 503
    assert api.call("GET", f"/applicants/{applicant_id}/ledger", token).data["entries"] == []
    assert api.call("GET", f"/applicants/{applicant_id}", token).data["status"] == "pending_payment"
    assert pay(api, token, applicant_id, key="ok").status_code == 201  # intents were released


def test_r2_transient_failure_then_retry_with_same_key_succeeds(api, reg, season):
    class FlakyOnce(LocalTestProvider):
        failed = False

        def charge(self, **kw):
            if not self.failed:
                self.failed = True
                raise ProviderUnavailable("card processor timed out")
            return super().charge(**kw)

    reg.payments = FlakyOnce()
    applicant_id, token = register(api, reg)
    assert pay(api, token, applicant_id, key="k").status_code == 503
    r = pay(api, token, applicant_id, key="k")
    assert r.status_code == 201 and len(reg.payments.charges) == 1


def test_r2_a_second_key_cannot_charge_while_a_payment_is_in_flight(api, reg, season):
    applicant_id, token = register(api, reg)
    a = reg.applicants.get(applicant_id)
    reg.applicants.save(a.reserve_payment("9999999999-inflight"))  # another request mid-way
    r = pay(api, token, applicant_id, key="second")
    assert r.status_code == 409 and "in progress" in r.data["detail"]
    assert reg.payments.charges == {}


def test_r2_a_payment_abandoned_after_its_charge_is_taken_over_without_a_second_charge(api, reg, season):
    """A process charged the card, recorded the charge and died before completing: a later
    payment takes its intent over, is not charged again, and adds no second ledger entry."""
    from registration.domain.ledger import registration_entries

    applicant_id, token = register(api, reg)
    intent = "1000000000-abandoned"  # stamped long ago
    reg.applicants.save(reg.applicants.get(applicant_id).reserve_payment(intent))
    charge = reg.payments.charge(amount_cents=55_000, card_number=GOOD_CARD, description="fee",
                                 idempotency_key=f"registration-{applicant_id}-{intent}")
    reg.ledger.append(registration_entries(applicant_id, "2024", f"pay-{intent}", charge.charge_id, reg.clock.now()))
    r = pay(api, token, applicant_id, key="later")
    assert r.status_code == 201 and r.data["payment_id"] == f"pay-{intent}", r.data
    assert len(reg.payments.charges) == 1
    ledger = api.call("GET", f"/applicants/{applicant_id}/ledger", token).data
    assert len(ledger["entries"]) == 2 and ledger["balance_cents"] == 55_000
    assert [e.code_number for e in reg.publisher.of(ApplicantRegistered)] == [r.data["code_number"]]
    assert len(reg.mailer.sent) == 1


def test_r2_registration_closed_while_paying_is_refunded(api, reg, season):
    applicant_id, token = register(api, reg)

    class ClosingProvider(LocalTestProvider):
        def charge(self, **kw):
            charge = super().charge(**kw)
            a = reg.applicants.get(applicant_id)
            reg.applicants.save(a.close_unpaid())  # registration_final fired meanwhile
            return charge

    reg.payments = ClosingProvider()
    r = pay(api, token, applicant_id)
    assert r.status_code == 409 and "refunded" in r.data["detail"]
    ledger = api.call("GET", f"/applicants/{applicant_id}/ledger", token).data
    assert sorted(e["kind"] for e in ledger["entries"]) == ["charge", "charge", "refund", "refund"]
    assert ledger["balance_cents"] == 0 and len(reg.payments.refunds) == 1


def test_r3_code_number_collision_takes_another_number(api, reg, season):
    import random

    from registration.domain.codes import CodeNumberPolicy

    reg.codes = CodeNumberPolicy(random.Random(1))
    first = list(CodeNumberPolicy(random.Random(1)).candidates())[0]
    a1, t1 = register(api, reg)
    assert pay(api, t1, a1).data["code_number"] == first
    reg.codes = CodeNumberPolicy(random.Random(1))  # the next payment draws the same first candidate
    a2, t2 = register(api, reg, sub="sub-grace", email="grace@caspr.example", cms_id="ABC-000000003")
    second = pay(api, t2, a2).data["code_number"]
    assert second != first and len(second) == 5


# ------------------------------------------------------------------------------- R4
def test_r4_credits_bought_after_registration_only(api, reg, season):
    applicant_id, token = register(api, reg)
    r = api.call("POST", f"/applicants/{applicant_id}/credits", token, {"quantity": 3, "card_number": GOOD_CARD},
                 headers={"Idempotency-Key": "c1"})
    assert r.status_code == 409 and r.data["rule"] == "R4"
    pay(api, token, applicant_id)
    r = api.call("POST", f"/applicants/{applicant_id}/credits", token, {"quantity": 3, "card_number": GOOD_CARD},
                 headers={"Idempotency-Key": "c1"})
    assert r.status_code == 201 and (r.data["credits_total"], r.data["charged_cents"]) == (15, 4_500)
    again = api.call("POST", f"/applicants/{applicant_id}/credits", token,
                     {"quantity": 3, "card_number": GOOD_CARD}, headers={"Idempotency-Key": "c1"})
    assert again.data == r.data
    r = api.call("POST", f"/applicants/{applicant_id}/credits", token, {"quantity": 101, "card_number": GOOD_CARD},
                 headers={"Idempotency-Key": "c2"})
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "quantity"
    ledger = api.call("GET", f"/applicants/{applicant_id}/ledger", token).data
    assert [e["part"] for e in ledger["entries"]].count("credits") == 1
    assert ledger["balance_cents"] == 55_000 + 4_500
    assert reg.publisher.of(CreditsPurchased)[0].credits_total == 15
    assert api.call("GET", f"/applicants/{applicant_id}", token).data["credits_total"] == 15


# ------------------------------------------------------------------------------- R7
def test_r7_profile_update_and_time_zone(api, reg, season):
    applicant_id, token = register(api, reg)
    r = api.call("PATCH", f"/applicants/{applicant_id}", token, {
        "timezone": "America/New_York", "phone": "+1 312 555 0100",
        "address": {"line1": "1 Main St", "city": "Chicago", "state": "IL", "postal_code": "60601"}})
    assert r.status_code == 200, r.data
    assert r.data["timezone"] == "America/New_York" and r.data["address"]["city"] == "Chicago"
    assert reg.publisher.of(ApplicantProfileUpdated)[0].timezone == "America/New_York"
    r = api.call("PATCH", f"/applicants/{applicant_id}", token, {"phone": "+1 312 555 0199"})
    assert r.status_code == 200 and len(reg.publisher.of(ApplicantProfileUpdated)) == 1  # no tz change
    r = api.call("PATCH", f"/applicants/{applicant_id}", token, {"timezone": "Mars/Olympus"})
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "timezone"
    for field, value in (("cms_id", "ABC-123456789"), ("email", "x@caspr.example"), ("season", "2025")):
        r = api.call("PATCH", f"/applicants/{applicant_id}", token, {field: value})
        assert r.status_code == 422 and r.data["errors"] == [{"field": field, "message": "cannot be changed"}]
    r = api.call("PATCH", f"/applicants/{applicant_id}", token, {"code_number": "12345"})
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "code_number"


def test_r7_withdraw_and_reinstate_before_registration_final(api, reg, season):
    applicant_id, token = register(api, reg)
    pay(api, token, applicant_id)
    r = api.call("POST", f"/applicants/{applicant_id}/withdrawal", token, {"reason": "family"})
    assert r.status_code == 200 and r.data["status"] == "withdrawn" and "I8" in r.data["notes"][0]
    assert reg.publisher.of(ApplicantWithdrawn)[0].reason == "family"
    assert api.call("POST", f"/applicants/{applicant_id}/withdrawal", token).status_code == 409
    r = api.call("POST", f"/applicants/{applicant_id}/reinstatement", token)
    assert r.status_code == 200 and r.data["status"] == "registered" and r.data["code_number"]
    assert reg.publisher.of(ApplicantReinstated)[0].applicant_id == applicant_id
    assert api.call("POST", f"/applicants/{applicant_id}/reinstatement", token).status_code == 409
    assert api.call("POST", f"/applicants/{applicant_id}/withdrawal", token).status_code == 200  # no body
    ledger = api.call("GET", f"/applicants/{applicant_id}/ledger", token).data
    assert ledger["balance_cents"] == 55_000  # withdrawal refunds nothing (R2)
    reg.clock.set(CAL["registration_final"] + timedelta(minutes=1))
    r = api.call("POST", f"/applicants/{applicant_id}/reinstatement", token)
    assert r.status_code == 422 and r.data["rule"] == "R7"


def test_r6_registration_final_closes_unpaid_registrations_via_the_consumer(api, reg, season):
    from registration.consumers import consumer

    unpaid, _ = register(api, reg)
    paid, token = register(api, reg, sub="sub-grace", email="grace@caspr.example", cms_id="ABC-000000004")
    pay(api, token, paid)
    reg.mailer.sent.clear()
    event = envelope(SeasonDeadlineReached(season="2024", key="registration_final", at=CAL["registration_final"]))
    record = {"messageId": "m1", "receiptHandle": "r", "body": json.dumps(event), "attributes": {},
              "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
              "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}
    assert consumer.handle({"Records": [record]}) == {"batchItemFailures": []}
    assert consumer.handle({"Records": [record]}) == {"batchItemFailures": []}  # redelivered: once only
    assert api.call("GET", f"/applicants/{unpaid}", ADMIN).data["status"] == "closed_unpaid"
    assert api.call("GET", f"/applicants/{paid}", ADMIN).data["status"] == "registered"
    [mail] = reg.mailer.sent
    assert mail.to == "ada@caspr.example" and "closed unpaid" in mail.subject
    assert [e.applicant_id for e in reg.publisher.of(RegistrationClosedUnpaid)] == [unpaid]
    assert "registration_final" in reg.deadlines.seen("2024")
    r = api.call("GET", "/applicants?season=2024&status=closed_unpaid", ADMIN)
    assert [a["applicant_id"] for a in r.data["applicants"]] == [unpaid]


# ------------------------------------------------------------------------------- authorization
def test_an_applicant_reaches_only_its_own_registration(api, reg, season):
    ada, ada_token = register(api, reg)
    grace, grace_token = register(api, reg, sub="sub-grace", email="grace@caspr.example", cms_id="ABC-000000005")
    for method, path, b in (("GET", f"/applicants/{ada}", None), ("PATCH", f"/applicants/{ada}", {"phone": "+1 5"}),
                            ("GET", f"/applicants/{ada}/ledger", None),
                            ("POST", f"/applicants/{ada}/withdrawal", None)):
        r = api.call(method, path, grace_token, b)
        assert r.status_code == 403, (method, path, r.data)
    assert pay(api, grace_token, ada).status_code == 403
    assert api.call("GET", f"/applicants/{ada}", ADMIN).status_code == 200
    assert api.call("GET", f"/applicants/{ada}", "program:p:101").status_code == 403
    assert api.call("GET", "/applicants/nope", ADMIN).status_code == 404
    assert api.call("GET", f"/applicants/{ada}").status_code == 401
    r = api.call("GET", "/applicants", grace_token)
    assert [a["applicant_id"] for a in r.data["applicants"]] == [grace]


def test_an_administrator_registers_on_behalf_and_the_account_with_that_email_owns_it(api, reg, season):
    r = api.call("POST", "/applicants", ADMIN, body(email="Katherine@caspr.example"))
    assert r.status_code == 201
    applicant_id = r.data["applicant_id"]
    owner = applicant_token(reg, "sub-k", "katherine@caspr.example")
    other = applicant_token(reg, "sub-o", "other@caspr.example")
    assert api.call("GET", f"/applicants/{applicant_id}", owner).status_code == 200
    assert api.call("GET", f"/applicants/{applicant_id}", other).status_code == 403
    assert pay(api, ADMIN, applicant_id).status_code == 201


# ------------------------------------------------------------------------------- R8
def test_r8_programs_registered_listed_and_filtered(api, reg, season):
    for p in demo_programs():
        r = api.call("POST", "/programs", ADMIN, p)
        assert r.status_code == 201, r.data
    assert [e.program_code for e in reg.publisher.of(ProgramRegistered)] == ["101", "102", "103", "104"]
    assert reg.publisher.of(ProgramRegistered)[0].application_deadline == CAL["application_deadline_default"]
    r = api.call("POST", "/programs", ADMIN, demo_programs()[0])
    assert r.status_code == 409 and r.data["errors"][0]["field"] == "program_code"
    token = applicant_token(reg, "x", "x@caspr.example")
    assert api.call("POST", "/programs", token, {**demo_programs()[0], "program_code": "105"}).status_code == 403
    codes = lambda q: [p["program_code"] for p in api.call("GET", f"/programs{q}", token).data["programs"]]  # noqa
    assert codes("") == ["101", "102", "103", "104"]
    assert codes("?state=TX") == ["102"]
    assert codes("?coth=false") == ["103"]
    assert codes("?crip=true") == ["101", "102"]
    assert codes("?q=grand") == ["101"]
    assert codes("?season=2024&q=104") == ["104"]
    r = api.call("GET", "/programs/102", token)
    assert r.status_code == 200 and [t["track_code"] for t in r.data["tracks"]] == ["1021", "1022"]
    assert r.data["effective_application_deadline"] == "2023-11-01T03:59:00Z"
    assert api.call("GET", "/programs?crip=maybe", token).status_code == 422
    assert api.call("GET", "/programs/999", token).status_code == 404


def test_r8_program_validation(api, reg, season):
    p = demo_programs()[0]
    r = api.call("POST", "/programs", ADMIN, {**p, "tracks": [{"track_code": "1021", "name": "X", "positions": 1}]})
    assert r.status_code == 422 and r.data["rule"] == "R8" and r.data["errors"][0]["field"] == "tracks.0.track_code"
    r = api.call("POST", "/programs", ADMIN, {**p, "crip_section": None})
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "crip_section"
    r = api.call("POST", "/programs", ADMIN, {**p, "application_deadline": "2024-02-17T12:00:00-05:00"})
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "application_deadline"
    r = api.call("POST", "/programs", ADMIN, {**p, "application_deadline": "2024-02-01T12:00:00"})
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "application_deadline"
    r = api.call("POST", "/programs", ADMIN, {**p, "tracks": [{"track_code": "1011", "name": "X", "positions": 100}]})
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "tracks.0.positions"
    r = api.call("POST", "/programs", ADMIN, {**p, "season": "2031"})
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "season"


def test_r8_program_changed_by_its_own_account_only(api, reg, season):
    api.call("POST", "/programs", ADMIN, demo_programs()[1])  # program 102
    own, other = "program:p102:102", "program:p101:101"
    change = {"tracks": [{"track_code": "1021", "name": "PMSR/RRA", "positions": 4}]}
    assert api.call("PATCH", "/programs/102", other, change).status_code == 403
    assert api.call("PATCH", "/programs/102", applicant_token(reg, "x", "x@x.org"), change).status_code == 403
    r = api.call("PATCH", "/programs/102", own, change)
    assert r.status_code == 200, r.data
    assert [t["positions"] for t in r.data["tracks"]] == [4, 1]
    [event] = reg.publisher.of(TrackPositionsChanged)
    assert (event.track_code, event.positions) == ("1021", 4)
    assert reg.publisher.of(ProgramUpdated) == []
    r = api.call("PATCH", "/programs/102", own, {"application_deadline": "2023-11-15T23:59:00-05:00",
                                                 "requirements": "CV"})
    assert r.status_code == 200 and r.data["effective_application_deadline"] == "2023-11-16T04:59:00Z"
    assert reg.publisher.of(ProgramUpdated)[0].application_deadline.isoformat() == "2023-11-16T04:59:00+00:00"
    assert api.call("PATCH", "/programs/102", own, {"coth": False}).status_code == 403
    assert api.call("PATCH", "/programs/102", ADMIN, {"coth": False}).data["coth"] is False
    r = api.call("PATCH", "/programs/102", own, {"program_code": "103"})
    assert r.status_code == 422 and r.data["errors"][0]["field"] == "program_code"
