"""Use cases of the registration service."""

from __future__ import annotations

from shared.contracts import SeasonDeadlineReached

from registration.bootstrap import Registration


def record_deadline(svc: Registration, event: SeasonDeadlineReached) -> None:
    svc.deadlines.record(event.season, event.key, event.at)
