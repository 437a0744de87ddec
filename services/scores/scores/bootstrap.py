"""The one place that wires the scores service's adapters to its use cases.
Tests call override() with fakes; nothing else patches module state."""

from __future__ import annotations

from dataclasses import dataclass

from shared.adapters.inbox import DeadlineLog, dynamo_deadline_log
from shared.runtime import Platform, default_platform
from shared.wiring import Wiring


@dataclass
class Scores:
    platform: Platform
    deadlines: DeadlineLog


def build() -> Scores:
    return Scores(platform=default_platform(), deadlines=dynamo_deadline_log("scores"))


wiring = Wiring(build)
container = wiring.get
override = wiring.override


def outbox():
    """The relay of this service's outbox (shared.relay)."""
    return container().platform.outbox("scores")
