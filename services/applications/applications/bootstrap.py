"""The one place that wires the applications service's adapters to its use cases.
Tests call override() with fakes; nothing else patches module state."""

from __future__ import annotations

from dataclasses import dataclass

from shared.adapters.inbox import DeadlineLog, dynamo_deadline_log
from shared.runtime import Platform, default_platform


@dataclass
class Applications:
    platform: Platform
    deadlines: DeadlineLog


_current: Applications | None = None


def build() -> Applications:
    return Applications(platform=default_platform(), deadlines=dynamo_deadline_log("applications"))


def container() -> Applications:
    global _current
    if _current is None:
        _current = build()
    return _current


def override(replacement: Applications | None) -> None:
    global _current
    _current = replacement
