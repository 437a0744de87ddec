"""The one place that wires the registration service's adapters to its use cases.
Tests call override() with fakes; nothing else patches module state."""

from __future__ import annotations

from dataclasses import dataclass

from shared.adapters.inbox import DeadlineLog, dynamo_deadline_log
from shared.runtime import Platform, default_platform


@dataclass
class Registration:
    platform: Platform
    deadlines: DeadlineLog


_current: Registration | None = None


def build() -> Registration:
    return Registration(platform=default_platform(), deadlines=dynamo_deadline_log("registration"))


def container() -> Registration:
    global _current
    if _current is None:
        _current = build()
    return _current


def override(replacement: Registration | None) -> None:
    global _current
    _current = replacement
