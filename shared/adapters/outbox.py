"""Events a service could not publish after its state change was stored.

The change is made (a retried request would not publish again), so the events are kept in
the service's own table and published again by `republish` (a scheduled function: every
5 minutes on AWS, every few seconds on the local stack) until the bus takes them. An
EventBridge outage then delays events instead of losing them. What this does not cover: the
process dying between the write and the publish (a transactional outbox would)."""

from __future__ import annotations

import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

from aws_lambda_powertools import Logger
from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from shared.adapters.dynamo import BaseItem, Gsi1, table_meta
from shared.contracts import REGISTRY, Contract
from shared.events import EventPublisher

logger = Logger(service="caspr")
PENDING = "events#pending"


def _dump(events: Sequence[Contract]) -> str:
    return json.dumps([{"detail_type": e.detail_type, "detail": json.loads(e.model_dump_json())} for e in events])


def _load(text: str) -> list[Contract]:
    return [REGISTRY[e["detail_type"]].model_validate(e["detail"]) for e in json.loads(text)]


def _key(now: datetime) -> str:
    """Sorts in the order kept: the real clock's nanoseconds (the service clock may stand still
    in tests and on the local stack), then the service instant for people reading the table."""
    return f"{time.time_ns():020d}#{now.isoformat()}#{uuid.uuid4().hex[:8]}"


class PendingEvents(ABC):
    @abstractmethod
    def keep(self, events: Sequence[Contract], now: datetime) -> None:
        """Stores events the bus refused, in the order given."""

    @abstractmethod
    def oldest(self, limit: int = 50) -> list[tuple[str, list[Contract]]]:
        """(key, events) of the oldest kept batches, oldest first."""

    @abstractmethod
    def done(self, key: str) -> None: ...


class InMemoryPendingEvents(PendingEvents):
    def __init__(self):
        self.batches: dict[str, str] = {}

    def keep(self, events, now):
        self.batches[_key(now)] = _dump(events)

    def oldest(self, limit=50):
        return [(k, _load(self.batches[k])) for k in sorted(self.batches)[:limit]]

    def done(self, key):
        self.batches.pop(key, None)


def dynamo_pending_events(service: str) -> PendingEvents:
    class PendingItem(BaseItem):
        Meta = table_meta(service)
        events = UnicodeAttribute()  # JSON [{detail_type, detail}]
        kept_at = UTCDateTimeAttribute()
        gsi1pk = UnicodeAttribute()
        gsi1sk = UnicodeAttribute()
        gsi1 = Gsi1()

    class DynamoPendingEvents(PendingEvents):
        def keep(self, events, now):
            key = _key(now)
            PendingItem(pk=f"{PENDING}#{key}", sk="batch", events=_dump(events), kept_at=now,
                        gsi1pk=PENDING, gsi1sk=key).save()

        def oldest(self, limit=50):
            return [(i.gsi1sk, _load(i.events)) for i in PendingItem.gsi1.query(PENDING, limit=limit)]

        def done(self, key):
            PendingItem(pk=f"{PENDING}#{key}", sk="batch").delete()

    return DynamoPendingEvents()


def publish_or_keep(publisher: EventPublisher, pending: PendingEvents, events: Sequence[Contract],
                    now: datetime) -> bool:
    """After the state change is stored: publishes, or keeps the events for `republish`.
    Never raises (the change is made; the caller's answer stands). True when published."""
    if not events:
        return True
    try:
        publisher.publish(*events)
        return True
    except Exception:
        logger.exception("publishing failed; the events are kept and published again later",
                         extra={"detail_types": [e.detail_type for e in events]})
    try:
        pending.keep(events, now)
    except Exception:  # the bus and the table both failing at once: only the log is left
        logger.exception("LOST EVENTS: could not keep them either",
                         extra={"events": _dump(events)})
    return False


def republish(publisher: EventPublisher, pending: PendingEvents, limit: int = 50) -> int:
    """Publishes kept batches oldest first; stops at the first the bus refuses (it stays kept).
    Returns how many batches went out. Consumers are idempotent by version, so a batch the
    bus took but whose deletion failed does no harm when it goes out twice."""
    sent = 0
    for key, events in pending.oldest(limit):
        try:
            publisher.publish(*events)
        except Exception:
            logger.exception("republishing failed; kept for the next run", extra={"batch": key})
            break
        pending.done(key)
        sent += 1
    return sent
