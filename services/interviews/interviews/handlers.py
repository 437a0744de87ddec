"""Use cases of the interviews service."""

from __future__ import annotations

from shared.contracts import SeasonDeadlineReached

from interviews.bootstrap import Interviews


def record_deadline(svc: Interviews, event: SeasonDeadlineReached) -> None:
    svc.deadlines.record(event.season, event.key, event.at)
