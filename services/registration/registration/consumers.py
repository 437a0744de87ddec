"""on_sqs_message: event contracts -> use cases (EventBridge -> SQS -> here).

season.deadline_reached.v1: every instant is logged; registration_final closes the
unpaid registrations of its season (R6) and tells their holders by email.
(credits_used will be spent by the applications service's designation events (A5) once
they exist; registration subscribes to nothing else yet.)"""

from __future__ import annotations

from chalice import Blueprint

from registration import bootstrap, handlers
from shared.contracts import SeasonDeadlineReached
from shared.settings import Settings
from shared.wiring import LazyConsumer

bp = Blueprint(__name__)
consumer = LazyConsumer(
    "registration",
    handlers=lambda: {SeasonDeadlineReached: lambda e: handlers.record_deadline(bootstrap.container(), e)},
    persistence=lambda: bootstrap.container().platform.idempotency_store("registration"),
)


@bp.on_sqs_message(queue=Settings.from_env().queue_name("registration"), batch_size=10)
def on_event(event):
    return consumer.handle(event.to_dict(), event.context)
