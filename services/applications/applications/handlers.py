"""Use cases of the applications service."""

from __future__ import annotations

from applications.bootstrap import Applications
from shared.contracts import SeasonDeadlineReached


def record_deadline(svc: Applications, event: SeasonDeadlineReached) -> None:
    svc.deadlines.record(event.season, event.key, event.at)
