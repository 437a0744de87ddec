"""I8 at interviews_close, counted: the refund sweep reads the season's applicants in batches
(not an applicant read and an "ever booked" read per applicant: 2N GetItems) and announces
the refunds several applicants per transaction, each still once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from interviews_kit import deliver_outbox, feed, season_events

from shared.contracts import InterviewFeeRefundDue, SeasonDeadlineReached
from tests.fakes import aws_calls

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Couldn.t determine the remaining time")]
APPLICANTS = 60
AT = datetime(2024, 2, 19, 4, 59, tzinfo=UTC)


def test_i8_refunds_of_a_season_in_a_few_calls_each_applicant_once(svc):
    from interviews import consumers
    from interviews.adapters.models import DeliveredItem

    feed(svc, *season_events(applicants=APPLICANTS, programs=(("101", True, True),)))
    for booked in ("a3", "a17"):  # booked through the system (a cancellation keeps the mark)
        DeliveredItem(pk=f"applicant#{booked}", sk="ever_booked", program_code="101", delivered_at=AT).save()
    assert svc.store.announce_refund("a5", AT, [InterviewFeeRefundDue(
        season="2024", applicant_id="a5", amount_cents=25_000, rule="I8", at=AT)])  # announced before

    deadline = SeasonDeadlineReached(season="2024", key="interviews_close", at=AT)
    with aws_calls() as seen:
        consumers._handlers()[SeasonDeadlineReached](deadline)
    # one Query of the season's applicants, a BatchGetItem of their items and one of their marks
    # (120 keys: 2 pages), 57 refunds in 3 transactions (25 a transaction); before: 120 GetItems, 57 transactions
    assert seen["GetItem"] == 0 and sum(seen.values()) <= 7, dict(seen)
    assert seen["TransactWriteItems"] == 3, dict(seen)

    consumers._handlers()[SeasonDeadlineReached](deadline)  # a redelivery announces nothing more
    deliver_outbox()
    refunded = sorted(e.applicant_id for e in svc.platform.publisher.of(InterviewFeeRefundDue))
    expected = sorted(f"a{n}" for n in range(APPLICANTS) if n not in (3, 17))
    assert refunded == expected  # a5's once (its own), every other never-booked applicant once


def test_i8_a_chunk_with_one_announced_meanwhile_falls_back_one_by_one(svc):
    feed(svc, *season_events(applicants=4, programs=(("101", True, True),)))

    def due(aid):
        return [InterviewFeeRefundDue(season="2024", applicant_id=aid, amount_cents=25_000, rule="I8", at=AT)]

    assert svc.store.announce_refund("a1", AT, due("a1"))
    assert svc.store.announce_refunds({aid: due(aid) for aid in ("a0", "a1", "a2")}, AT) == 2  # a1's refused
    deliver_outbox()
    assert sorted(e.applicant_id for e in svc.platform.publisher.of(InterviewFeeRefundDue)) == ["a0", "a1", "a2"]
