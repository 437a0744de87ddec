"""The one SQS consumer every service uses (EventBridge -> SQS -> Lambda).

- parses each record's EventBridge envelope with powertools into the contract model;
- runs the handler at most once per event id (powertools idempotency, DynamoDB), unless the
  handler is marked `idempotent_by_nature` (its conditional writes make a redelivery, even a
  late one, a no-op: then no idempotency record, two calls fewer per event);
- reports partial batch failures, so one bad message is retried / dead-lettered alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.envelopes import EventBridgeEnvelope

from shared.contracts import Contract

Handler = Callable[[Contract], None]
BY_NATURE = "idempotent_by_nature"


def idempotent_by_nature(handler: Handler, when: Callable[[dict], bool] = lambda detail: True) -> Handler:
    """Marks a handler whose effect is idempotent by itself (conditional writes that a redelivery,
    even a late one, cannot repeat or undo, e.g. "keep the highest count", "apply only a newer
    version"): the consumer runs it without an idempotency record (which costs a PutItem and an
    UpdateItem per event) for the events whose detail satisfies `when` (e.g. "carries a version":
    an event without one still gets the record)."""
    setattr(handler, BY_NATURE, when)
    return handler


class EventConsumer:
    def __init__(self, service: str, handlers: dict[type[Contract], Handler],
                 persistence: BasePersistenceLayer | None, logger: Logger | None = None):
        self.service = service
        self.handlers = {model.detail_type: (model, fn) for model, fn in handlers.items()}
        self.logger = logger or Logger(service=service)
        self._dispatch = self._dispatch_once
        # keyed by the event id given when the change committed (shared.outbox), which every
        # redelivery keeps; EventBridge's own envelope id for events from elsewhere (the scheduler)
        self._config = IdempotencyConfig(event_key_jmespath="detail.event_id || id",
                                         expires_after_seconds=7 * 24 * 3600)
        if persistence is not None:
            self._dispatch = idempotent_function(
                data_keyword_argument="event", persistence_store=persistence, config=self._config
            )(self._dispatch_once)

    @property
    def detail_types(self) -> list[str]:
        return sorted(self.handlers)

    def _dispatch_once(self, event: dict) -> dict:
        model, fn = self.handlers[event["detail-type"]]
        fn(parse(event=event, model=model, envelope=EventBridgeEnvelope))
        return {"handled": event["id"]}

    def _record(self, record: SQSRecord) -> None:
        event = json.loads(record.body)
        if event.get("detail-type") not in self.handlers:
            self.logger.warning("event with no handler ignored", extra={"detail_type": event.get("detail-type")})
            return
        _, fn = self.handlers[event["detail-type"]]
        by_nature = getattr(fn, BY_NATURE, None)
        if by_nature is not None and by_nature(event.get("detail") or {}):
            self._dispatch_once(event)
        else:
            self._dispatch(event=event)

    def handle(self, sqs_event: dict, context=None) -> dict:
        """Lambda entry point body: returns {"batchItemFailures": [...]}.

        `context` (Lambda's) gives powertools the time left, so an event whose consumer died
        mid-way is marked in progress only until this invocation's timeout: its redelivery
        after the visibility timeout is applied (once), not refused as "in progress" until it
        lands in the dead-letter queue."""
        if context is not None:
            self._config.register_lambda_context(context)
        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(event=sqs_event, record_handler=self._record, processor=processor,
                                        context=context)
