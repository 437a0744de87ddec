"""on_sqs_message: event contracts -> use cases (EventBridge -> SQS -> here)."""

from __future__ import annotations

from chalice import Blueprint

from scores import bootstrap, handlers
from shared.consumer import EventConsumer
from shared.contracts import SeasonDeadlineReached
from shared.settings import Settings

bp = Blueprint(__name__)
_consumer: EventConsumer | None = None


def consumer() -> EventConsumer:
    global _consumer
    if _consumer is None:
        svc = bootstrap.container()
        _consumer = EventConsumer(
            "scores",
            {SeasonDeadlineReached: lambda e: handlers.record_deadline(bootstrap.container(), e)},
            persistence=svc.platform.idempotency_store("scores"),
        )
    return _consumer


@bp.on_sqs_message(queue=Settings.from_env().queue_name("scores"), batch_size=10)
def on_event(event):
    return consumer().handle(event.to_dict())
