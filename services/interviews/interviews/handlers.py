"""Use cases of the interviews service."""

from __future__ import annotations

from interviews.bootstrap import Interviews
from shared.contracts import SeasonDeadlineReached


def record_deadline(svc: Interviews, event: SeasonDeadlineReached) -> None:
    svc.deadlines.record(event.season, event.key, event.at)
