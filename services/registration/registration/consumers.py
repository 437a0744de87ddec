"""on_sqs_message: event contracts -> use cases (EventBridge -> SQS -> here).

season.deadline_reached.v1: every instant is logged; registration_final closes the
unpaid registrations of its season (R6) and tells their holders by email.
scores.withdrawal_due.v1 (S5): withdrawn from CASPR (scope caspr) or from the Match (scope
match, applicant.match_withdrawn.v1).
application.designated.v1 (A5): credits_used keeps the highest count the applications
service reports.
interview.fee_refund_due.v1 (I8): the $250 interview scheduling fee is refunded once (a ledger
entry keyed on season + applicant, with the applicant's email, in one transaction)."""

from __future__ import annotations

from chalice import Blueprint

from registration import bootstrap, handlers
from shared.contracts import (
    ApplicationDesignated,
    InterviewFeeRefundDue,
    ScoresWithdrawalDue,
    SeasonDeadlineReached,
)
from shared.settings import Settings
from shared.wiring import LazyConsumer

bp = Blueprint(__name__)


def _handlers() -> dict:
    from shared.consumer import idempotent_by_nature  # the consumer machinery: loaded with the consumer

    return {
        SeasonDeadlineReached: lambda e: handlers.record_deadline(bootstrap.container(), e),
        ScoresWithdrawalDue: lambda e: handlers.withdraw_for_scores(bootstrap.container(), e),
        # one conditional write keeping the highest count: a redelivery writes nothing
        ApplicationDesignated: idempotent_by_nature(lambda e: handlers.record_designation(bootstrap.container(), e)),
        # the processor's refund is idempotent per season + applicant, its ledger entry written once
        # (conditioned on its absence): a redelivery, even a late one, refunds and writes nothing
        InterviewFeeRefundDue: idempotent_by_nature(
            lambda e: handlers.refund_interview_fee(bootstrap.container(), e)),
    }


consumer = LazyConsumer(
    "registration",
    handlers=_handlers,
    persistence=lambda: bootstrap.container().platform.idempotency_store("registration"),
)


@bp.on_sqs_message(queue=Settings.from_env().queue_name("registration"), batch_size=10)
def on_event(event):
    return consumer.handle(event.to_dict(), event.context)
