"""I8 in registration: interview.fee_refund_due.v1 refunds the $250 interview scheduling fee
once per (season, applicant) — one ledger entry conditioned on its absence, with the
applicant's email in the same transaction — and nothing to applicants who never paid it or
got it back already. The optional calendar key interviews_close (validated, scheduled)."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from test_registration_api import ADMIN, pay, register, season  # noqa: F401  (season: a fixture)
from test_s5_withdrawals import feed

from caspr_local.demo import CALENDAR_2024
from registration.domain.calendar import parse_calendar
from registration.domain.ledger import (
    CHARGE,
    REFUND,
    LedgerEntry,
    interview_fee_refund,
    interview_fee_refund_id,
    registration_entries,
)
from shared.contracts import InterviewFeeRefundDue
from shared.errors import ValidationFailed

AT = datetime(2024, 2, 19, 4, 59, tzinfo=UTC)


def due(applicant_id: str, event_id: str | None = None) -> InterviewFeeRefundDue:
    return InterviewFeeRefundDue(season="2024", applicant_id=applicant_id, amount_cents=25_000, rule="I8", at=AT,
                                 event_id=event_id)


# ----------------------------------------------------------------------------- domain (unit)
def test_i8_domain_refund_only_of_a_paid_unrefunded_interview_fee():
    paid = registration_entries("a1", "2024", "pay-1", "ch_1", AT)
    entry = interview_fee_refund("a1", "2024", paid, AT, "re_1")
    assert entry is not None and entry.entry_id == interview_fee_refund_id("2024") == "i8-2024.interview_fee.refund"
    assert (entry.kind, entry.part, entry.amount_cents, entry.signed_cents) == (REFUND, "interview_fee", 25_000,
                                                                                -25_000)
    assert "I8" in entry.note
    assert interview_fee_refund("a1", "2024", [], AT) is None  # never paid
    assert interview_fee_refund("a1", "2024", [*paid, entry], AT) is None  # refunded by I8 before
    whole = registration_entries("a1", "2024", "pay-1", "re_x", AT, kind=REFUND)  # a registration refunded whole
    assert interview_fee_refund("a1", "2024", [*paid, *whole], AT) is None
    other = [LedgerEntry(e.entry_id, "a1", "2023", CHARGE, e.part, e.amount_cents, "p", AT) for e in paid]
    assert interview_fee_refund("a1", "2024", other, AT) is None  # another season's fee


def test_i8_calendar_interviews_close_is_optional_and_ordered():
    assert "interviews_close" not in parse_calendar("2024", CALENDAR_2024).instants
    cal = parse_calendar("2024", {**CALENDAR_2024, "interviews_close": "2024-02-10T23:59:00-05:00"})
    assert cal.instants["interviews_close"] == datetime(2024, 2, 11, 4, 59, tzinfo=UTC)
    assert "interviews_close" in dict(cal.ordered())
    assert parse_calendar("2024", {**CALENDAR_2024, "interviews_close": CALENDAR_2024["rol_deadline"]})
    for bad in ("2023-12-04T12:00:00-05:00", "2024-02-19T00:00:00-05:00", "soon"):  # = invitations_open, late
        with pytest.raises(ValidationFailed) as exc:
            parse_calendar("2024", {**CALENDAR_2024, "interviews_close": bad})
        assert [e.field for e in exc.value.errors] == ["interviews_close"]


# ----------------------------------------------------------------------------- integration (moto)

@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")
def test_i8_calendar_put_with_interviews_close_arms_its_schedule(api, reg):
    r = api.call("PUT", "/seasons/2024", ADMIN, {**CALENDAR_2024, "interviews_close": "2024-02-10T23:59:00-05:00"})
    assert r.status_code == 201, r.data
    assert "2024-interviews_close" in r.data["schedules"]
    s = boto3.client("scheduler").get_schedule(GroupName=reg.platform.settings.scheduler_group,
                                               Name="2024-interviews_close")
    assert s["ScheduleExpression"] == "at(2024-02-11T04:59:00)"
    assert '"key": "interviews_close"' in s["Target"]["Input"]
    bad = api.call("PUT", "/seasons/2024", ADMIN, {**CALENDAR_2024, "interviews_close": "2024-03-01T00:00:00Z"})
    assert bad.status_code == 422 and bad.headers["Content-Type"].startswith("application/problem+json")
    assert [e["field"] for e in bad.data["errors"]] == ["interviews_close"], bad.data


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")
def test_i8_one_refund_per_applicant_whatever_the_redeliveries_email_and_balance(api, reg, season):  # noqa: F811
    paid, paid_token = register(api, reg, sub="sub-p", email="paid@caspr.example", cms_id="pro-000000001")
    assert pay(api, paid_token, paid).status_code == 201
    unpaid, unpaid_token = register(api, reg, sub="sub-u", email="unpaid@caspr.example", cms_id="pro-000000002")
    reg.mailer.sent.clear()

    feed(due(paid), due(paid), due(unpaid))  # two announcements (different event ids)
    feed(due(paid, event_id="same-id"))
    feed(due(paid, event_id="same-id"))  # a redelivery of one event: the consumer's idempotency

    ledger = api.call("GET", f"/applicants/{paid}/ledger", paid_token)
    assert ledger.status_code == 200, ledger.data
    refunds = [e for e in ledger.data["entries"] if e["kind"] == "refund"]
    assert len(refunds) == 1, ledger.data
    assert refunds[0]["part"] == "interview_fee" and refunds[0]["amount_cents"] == 25_000
    assert refunds[0]["entry_id"] == "i8-2024.interview_fee.refund" and "I8" in refunds[0]["note"]
    assert ledger.data["balance_cents"] == 55_000 - 25_000
    mails = [m for m in reg.mailer.sent if "interview scheduling fee is refunded" in m.subject]
    assert [m.to for m in mails] == ["paid@caspr.example"]
    assert "your $250.00 interview scheduling fee is refunded because you booked no interview through CASPR" \
           in mails[0].body
    assert len(reg.payments.refunds) == 1  # the card processor refunded once

    nothing = api.call("GET", f"/applicants/{unpaid}/ledger", unpaid_token)
    assert nothing.data["entries"] == [] and nothing.data["balance_cents"] == 0
    assert not [m for m in reg.mailer.sent if m.to == "unpaid@caspr.example"]


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")
def test_i8_unknown_applicant_or_other_season_is_ignored(api, reg, season):  # noqa: F811
    feed(due("no-such-applicant"))
    a, token = register(api, reg, sub="sub-s", email="s@caspr.example", cms_id="pro-000000003")
    assert pay(api, token, a).status_code == 201
    feed(InterviewFeeRefundDue(season="2023", applicant_id=a, amount_cents=25_000, rule="I8", at=AT))
    assert api.call("GET", f"/applicants/{a}/ledger", token).data["balance_cents"] == 55_000
