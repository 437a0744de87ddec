"""Use cases of the scores service."""

from __future__ import annotations

from shared.contracts import SeasonDeadlineReached

from scores.bootstrap import Scores


def record_deadline(svc: Scores, event: SeasonDeadlineReached) -> None:
    svc.deadlines.record(event.season, event.key, event.at)
