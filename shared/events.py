"""Publishing domain events to the EventBridge bus."""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from datetime import UTC, datetime

from shared.contracts import Contract
from shared.errors import TemporarilyUnavailable


class EventPublisher(ABC):
    @abstractmethod
    def publish(self, *events: Contract) -> None: ...


class EventBridgePublisher(EventPublisher):
    def __init__(self, bus_name: str, client=None):
        import boto3

        self.bus_name = bus_name
        self._client = client or boto3.client("events")

    def publish(self, *events: Contract) -> None:
        for start in range(0, len(events), 10):  # PutEvents takes at most 10 entries
            chunk = events[start : start + 10]
            entries = [
                {
                    "EventBusName": self.bus_name,
                    "Source": e.source,
                    "DetailType": e.detail_type,
                    "Detail": e.model_dump_json(),
                }
                for e in chunk
            ]
            response = self._client.put_events(Entries=entries)
            if response.get("FailedEntryCount"):
                raise TemporarilyUnavailable(f"event bus refused {response['FailedEntryCount']} event(s)")


class InMemoryPublisher(EventPublisher):
    """The test double: records what would have been published, as EventBridge would."""

    def __init__(self):
        self.events: list[Contract] = []

    def publish(self, *events: Contract) -> None:
        self.events.extend(events)

    def of(self, kind: type[Contract]) -> list[Contract]:
        return [e for e in self.events if isinstance(e, kind)]

    def as_eventbridge(self, event: Contract) -> dict:
        return envelope(event)


def envelope(event: Contract, *, event_id: str | None = None) -> dict:
    """The EventBridge JSON an SQS target receives for `event` (tests and the local stack)."""
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": event.detail_type,
        "source": event.source,
        "account": "000000000000",
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(event.model_dump_json()),
    }
