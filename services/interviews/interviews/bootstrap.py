"""The one place that wires the interviews service's adapters to its use cases.
Tests call override() with fakes; nothing else patches module state."""

from __future__ import annotations

from dataclasses import dataclass

from interviews.adapters.repositories import DynamoInterviewStore, InterviewStore
from shared.adapters.inbox import DeadlineLog, dynamo_deadline_log
from shared.runtime import Platform, default_platform
from shared.wiring import Wiring


@dataclass
class Interviews:
    platform: Platform
    deadlines: DeadlineLog
    store: InterviewStore


def build() -> Interviews:
    platform = default_platform()
    return Interviews(platform=platform, deadlines=dynamo_deadline_log("interviews"),
                      store=DynamoInterviewStore(platform.clock.now))


wiring = Wiring(build)
container = wiring.get
override = wiring.override


def outbox():
    """The relay of this service's outbox (shared.relay)."""
    return container().platform.outbox("interviews")
