"""The one place that wires the interviews service's adapters to its use cases.
Tests call override() with fakes; nothing else patches module state."""

from __future__ import annotations

from dataclasses import dataclass

from shared.adapters.inbox import DeadlineLog, dynamo_deadline_log
from shared.runtime import Platform, default_platform


@dataclass
class Interviews:
    platform: Platform
    deadlines: DeadlineLog


_current: Interviews | None = None


def build() -> Interviews:
    return Interviews(platform=default_platform(), deadlines=dynamo_deadline_log("interviews"))


def container() -> Interviews:
    global _current
    if _current is None:
        _current = build()
    return _current


def override(replacement: Interviews | None) -> None:
    global _current
    _current = replacement
