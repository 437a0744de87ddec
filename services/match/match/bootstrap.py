"""The one place that wires the match service's adapters to its use cases.
Tests call override() with fakes; nothing else patches module state."""

from __future__ import annotations

from dataclasses import dataclass

from shared.adapters.inbox import DeadlineLog, dynamo_deadline_log
from shared.runtime import Platform, default_platform


@dataclass
class Match:
    platform: Platform
    deadlines: DeadlineLog


_current: Match | None = None


def build() -> Match:
    return Match(platform=default_platform(), deadlines=dynamo_deadline_log("match"))


def container() -> Match:
    global _current
    if _current is None:
        _current = build()
    return _current


def override(replacement: Match | None) -> None:
    global _current
    _current = replacement
