"""Use cases of the match service."""

from __future__ import annotations

from shared.contracts import SeasonDeadlineReached

from match.bootstrap import Match


def record_deadline(svc: Match, event: SeasonDeadlineReached) -> None:
    svc.deadlines.record(event.season, event.key, event.at)
