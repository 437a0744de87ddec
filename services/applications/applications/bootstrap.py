"""The one place that wires the applications service's adapters to its use cases.
Tests call override() with fakes; nothing else patches module state."""

from __future__ import annotations

from dataclasses import dataclass

from applications.adapters.store import ApplicationStore, DynamoApplicationStore
from shared.adapters.inbox import DeadlineLog, dynamo_deadline_log
from shared.adapters.storage import DocumentStorage, S3DocumentStorage, documents_bucket
from shared.runtime import Platform, default_platform
from shared.wiring import Wiring


@dataclass
class Applications:
    platform: Platform
    deadlines: DeadlineLog
    store: ApplicationStore
    storage: DocumentStorage


def build() -> Applications:
    platform = default_platform()
    s = platform.settings
    return Applications(platform=platform, deadlines=dynamo_deadline_log("applications"),
                        store=DynamoApplicationStore(platform.clock.now),
                        storage=S3DocumentStorage(documents_bucket(s), s.region))


wiring = Wiring(build)
container = wiring.get
override = wiring.override


def outbox():
    """The relay of this service's outbox (shared.relay)."""
    return container().platform.outbox("applications")
