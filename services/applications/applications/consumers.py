"""on_sqs_message: event contracts -> use cases (EventBridge -> SQS -> here)."""

from __future__ import annotations

from chalice import Blueprint

from applications import bootstrap, handlers
from shared.contracts import SeasonDeadlineReached
from shared.settings import Settings
from shared.wiring import LazyConsumer

bp = Blueprint(__name__)
consumer = LazyConsumer(
    "applications",
    handlers=lambda: {SeasonDeadlineReached: lambda e: handlers.record_deadline(bootstrap.container(), e)},
    persistence=lambda: bootstrap.container().platform.idempotency_store("applications"),
)


@bp.on_sqs_message(queue=Settings.from_env().queue_name("applications"), batch_size=10)
def on_event(event):
    return consumer.handle(event.to_dict(), event.context)
