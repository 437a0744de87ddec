"""The clock. Every instant is an aware UTC datetime. Services take a Clock from their
bootstrap; the host process (Lambda, the local stack, a test) decides which one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime


def parse_instant(value: str) -> datetime:
    """ISO 8601 with an offset (or Z) -> aware UTC datetime. Raises ValueError otherwise."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if dt.tzinfo is None:
        raise ValueError(f"instant {value!r} has no UTC offset; expected e.g. 2024-02-15T23:59:00-05:00")
    return dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SystemClock(Clock):
    pass


class ControlledClock(Clock):
    """A clock that only moves when told to (the local stack's and the tests')."""

    def __init__(self, start: datetime | None = None):
        self._now = (start or datetime.now(UTC)).astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)


_default: Clock = SystemClock()


def default_clock() -> Clock:
    """The process-wide clock; services read it through their bootstrap."""
    return _default


def install_default_clock(clock: Clock) -> None:
    """Called once by a host (the local stack) before it imports the apps."""
    global _default
    _default = clock
