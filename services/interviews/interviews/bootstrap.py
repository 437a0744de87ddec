"""The one place that wires the interviews service's adapters to its use cases.
Tests call override() with fakes; nothing else patches module state."""

from __future__ import annotations

from dataclasses import dataclass, field

from interviews.adapters.repositories import DynamoInterviewStore, InterviewStore
from shared.adapters.inbox import DeadlineLog, dynamo_deadline_log
from shared.adapters.storage import DocumentStorage, S3DocumentStorage, documents_bucket
from shared.runtime import Platform, default_platform
from shared.settings import Settings
from shared.wiring import Wiring


def _documents() -> DocumentStorage:
    s = Settings.from_env()
    return S3DocumentStorage(documents_bucket(s), s.region)  # its S3 client is made on first use


@dataclass
class Interviews:
    platform: Platform
    deadlines: DeadlineLog
    store: InterviewStore
    storage: DocumentStorage = field(default_factory=_documents)  # the events' PDFs (I1)
    cache: dict = field(default_factory=dict)  # per process (the digest's days done)


def build() -> Interviews:
    platform = default_platform()
    s = platform.settings
    return Interviews(platform=platform, deadlines=dynamo_deadline_log("interviews"),
                      store=DynamoInterviewStore(platform.clock.now),
                      storage=S3DocumentStorage(documents_bucket(s), s.region))


wiring = Wiring(build)
container = wiring.get
override = wiring.override


def outbox():
    """The relay of this service's outbox (shared.relay)."""
    return container().platform.outbox("interviews")
