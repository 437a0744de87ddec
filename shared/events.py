"""Publishing domain events to the EventBridge bus."""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime

from shared.contracts import Contract
from shared.errors import TemporarilyUnavailable

PUT_EVENTS_MAX_ENTRIES = 10  # EventBridge's limits for one PutEvents: 10 entries...
PUT_EVENTS_MAX_BYTES = 240 * 1024  # ...and 256 KiB in all (entry sizes as EventBridge counts them, with a margin)


def entry_size(entry: dict) -> int:
    """An entry's size as EventBridge counts it (Source, DetailType, Detail, Resources in UTF-8,
    14 bytes for a Time); the bus name is counted too, to stay on the safe side."""
    return (sum(len(str(entry.get(k) or "").encode()) for k in ("Source", "DetailType", "Detail", "EventBusName"))
            + sum(len(r.encode()) for r in entry.get("Resources") or []) + (14 if entry.get("Time") else 0))


def put_events_chunks(entries: Sequence[dict]) -> list[list[dict]]:
    """`entries` in order, cut into PutEvents calls: at most 10 entries and 240 KiB each (one
    entry alone over the limit makes a call of its own: the bus refuses it, and says so)."""
    chunks: list[list[dict]] = []
    size = 0
    for entry in entries:
        n = entry_size(entry)
        if not chunks or len(chunks[-1]) == PUT_EVENTS_MAX_ENTRIES or size + n > PUT_EVENTS_MAX_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += n
    return chunks


class EventPublisher(ABC):
    @abstractmethod
    def publish(self, *events: Contract) -> None: ...

    def publish_batch(self, events: Sequence[Contract]) -> list[str | None]:
        """Publishes `events` as few calls as the bus allows and says, per event, whether the
        bus took it: None (taken) or why not. Never raises for a refusal: the caller (the
        outbox relay) retries what was refused. This default publishes one at a time."""
        return publish_one_by_one(self, events)


class EventBridgePublisher(EventPublisher):
    def __init__(self, bus_name: str, client=None):
        import boto3

        self.bus_name = bus_name
        self._client = client or boto3.client("events")

    def _entry(self, e: Contract) -> dict:
        return {"EventBusName": self.bus_name, "Source": e.source, "DetailType": e.detail_type,
                "Detail": e.model_dump_json()}

    def publish(self, *events: Contract) -> None:
        for chunk in put_events_chunks([self._entry(e) for e in events]):
            response = self._client.put_events(Entries=chunk)
            if response.get("FailedEntryCount"):
                raise TemporarilyUnavailable(f"event bus refused {response['FailedEntryCount']} event(s)")

    def publish_batch(self, events: Sequence[Contract]) -> list[str | None]:
        """One PutEvents per 10 events (fewer when they are large: 256 KiB a call). A refused entry
        (FailedEntryCount: throttled, internal error) is reported with its ErrorCode; a call that
        fails as a whole (the bus unreachable) reports its events and every later one as not
        taken (no further call is made)."""
        results: list[str | None] = []
        for chunk in put_events_chunks([self._entry(e) for e in events]):
            try:
                response = self._client.put_events(Entries=chunk)
            except Exception as exc:  # noqa: BLE001 - reported per event; the relay logs and retries
                return results + [type(exc).__name__] * (len(events) - len(results))
            answers = response.get("Entries") or []
            if len(answers) != len(chunk):  # never by the API's contract; then nothing is known taken
                return results + ["MalformedResponse"] * (len(events) - len(results))
            results += [(a.get("ErrorCode") or "Failed") if a.get("ErrorCode") or not a.get("EventId") else None
                        for a in answers]
        return results


def publish_one_by_one(publisher, events: Sequence[Contract]) -> list[str | None]:
    """`publish_batch` for any publisher with `publish` alone: one event per call, stopping at the
    first refusal (the later ones are reported as not taken, never tried)."""
    results: list[str | None] = []
    for i, e in enumerate(events):
        try:
            publisher.publish(e)
        except Exception as exc:  # noqa: BLE001 - reported per event; the relay logs and retries
            return results + [type(exc).__name__] * (len(events) - i)
        results.append(None)
    return results


class InMemoryPublisher(EventPublisher):
    """The test double: records what would have been published, as EventBridge would."""

    def __init__(self):
        self.events: list[Contract] = []

    def publish(self, *events: Contract) -> None:
        self.events.extend(events)

    def publish_batch(self, events: Sequence[Contract]) -> list[str | None]:
        try:  # as one PutEvents: all or (a subclass refusing) none
            self.publish(*events)
        except Exception as exc:  # noqa: BLE001 - reported per event
            return [type(exc).__name__] * len(events)
        return [None] * len(events)

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
