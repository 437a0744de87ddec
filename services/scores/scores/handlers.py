"""Use cases of the scores service."""

from __future__ import annotations

from scores.bootstrap import Scores
from shared.contracts import SeasonDeadlineReached


def record_deadline(svc: Scores, event: SeasonDeadlineReached) -> None:
    svc.deadlines.record(event.season, event.key, event.at)
