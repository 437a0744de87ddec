"""The season calendar as the match service knows it (its own copy, from
season.calendar_set.v1) and the two rounds of rank order lists (M1, M7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.clock import iso
from shared.errors import Conflict, RuleViolation

MATCH = "match"
MPII = "mpii"
STATUS_DAY = "match_status_day"
MATCH_DAY = "match_day"


@dataclass(frozen=True)
class Round:
    name: str
    opens: str  # calendar key: lists may be edited from this instant
    deadline: str  # calendar key: lists lock at this instant
    rule: str  # the SPEC rule that sets the window
    label: str


ROUNDS: dict[str, Round] = {
    MATCH: Round(MATCH, "rol_opens", "rol_deadline", "M1", "Match"),
    MPII: Round(MPII, "mpii_rol_opens", "mpii_rol_deadline", "M7", "MPII"),
}


def round_named(name: str) -> Round:
    try:
        return ROUNDS[name]
    except KeyError:
        raise ValueError(f"unknown round {name!r}; expected one of {sorted(ROUNDS)}") from None


@dataclass(frozen=True)
class Calendar:
    season: str
    instants: dict[str, datetime] = field(default_factory=dict)

    def get(self, key: str) -> datetime:
        try:
            return self.instants[key]
        except KeyError:
            raise Conflict(f"the calendar of season {self.season} has no {key} yet; the administrator sets it "
                           f"with PUT /registration/seasons/{self.season}") from None

    def passed(self, key: str, now: datetime) -> bool:
        at = self.instants.get(key)
        return at is not None and at <= now


def require_lists_open(calendar: Calendar, rnd: Round, now: datetime, *, locked: bool) -> None:
    """M1 / M7: rank order lists can be changed from `opens` until `deadline` (exclusive),
    and never once the run has locked them."""
    opens = calendar.get(rnd.opens)
    deadline = calendar.get(rnd.deadline)
    if locked or now >= deadline:
        raise RuleViolation(f"{rnd.label} rank order lists locked at {rnd.deadline} ({iso(deadline)}); "
                            f"they can no longer be changed or certified", rule=rnd.rule)
    if now < opens:
        raise RuleViolation(f"{rnd.label} rank order lists open at {rnd.opens} ({iso(opens)})", rule=rnd.rule)
