"""The one place that wires the scores service's adapters to its use cases.
Tests call override() with fakes; nothing else patches module state."""

from __future__ import annotations

from dataclasses import dataclass

from shared.adapters.inbox import DeadlineLog, dynamo_deadline_log
from shared.runtime import Platform, default_platform


@dataclass
class Scores:
    platform: Platform
    deadlines: DeadlineLog


_current: Scores | None = None


def build() -> Scores:
    return Scores(platform=default_platform(), deadlines=dynamo_deadline_log("scores"))


def container() -> Scores:
    global _current
    if _current is None:
        _current = build()
    return _current


def override(replacement: Scores | None) -> None:
    global _current
    _current = replacement
