"""The season calendar: its keys, and the order its instants must keep.

Every deadline of the system reads from this one calendar (SPEC "The season calendar");
each instant is an aware UTC datetime. Setting it (`SeasonCalendar.set`) returns a
`shared.outbox.Change` with the season.calendar_set.v1 event (a shared.contracts pydantic
model: building it here is an accepted exception to "no pydantic in the domain")."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from shared.contracts import SeasonCalendarSet
from shared.errors import FieldError, ValidationFailed
from shared.outbox import Change

SEASON_ID = re.compile(r"^[0-9]{4}\Z")

# in the order of a normal season
CALENDAR_KEYS: tuple[str, ...] = (
    "registration_opens",
    "registration_recommended_by",
    "score_release_deadline",
    "scores_uploaded",
    "application_deadline_default",
    "part1_pass_by",
    "applications_delivered",
    "invitations_open",
    "crip_start",
    "crip_end",
    "non_crip_interviews_from",
    "rol_opens",
    "registration_final",
    "match_application_last",
    "rol_deadline",
    "part2_pass_by",
    "part2_uploaded",
    "match_status_day",
    "mpii_applications_open",
    "mpii_application_deadline",
    "mpii_rol_opens",
    "mpii_rol_deadline",
    "match_day",
)

# keys a calendar may carry or leave out (a consumer falls back when absent):
# interviews_close (I8; the interviews service uses rol_deadline when it is absent)
OPTIONAL_KEYS: tuple[str, ...] = ("interviews_close",)
ALL_KEYS: tuple[str, ...] = (*CALENDAR_KEYS[:CALENDAR_KEYS.index("rol_deadline") + 1], *OPTIONAL_KEYS,
                             *CALENDAR_KEYS[CALENDAR_KEYS.index("rol_deadline") + 1:])

# (earlier, later, strictly): `earlier` must come before `later` (or at the same instant
# when not strictly). SPEC's calendar and the effects that depend on the order.
ORDER: tuple[tuple[str, str, bool], ...] = (
    ("registration_opens", "registration_recommended_by", True),
    ("registration_recommended_by", "registration_final", True),
    ("score_release_deadline", "scores_uploaded", True),
    ("application_deadline_default", "applications_delivered", True),
    ("application_deadline_default", "match_application_last", False),
    ("crip_start", "crip_end", True),
    ("crip_end", "non_crip_interviews_from", False),
    ("rol_opens", "rol_deadline", True),
    ("rol_deadline", "match_status_day", True),
    ("match_status_day", "mpii_applications_open", False),
    ("mpii_applications_open", "mpii_application_deadline", True),
    ("mpii_application_deadline", "mpii_rol_opens", False),
    ("mpii_rol_opens", "mpii_rol_deadline", True),
    ("mpii_rol_deadline", "match_day", True),
    # I8: the interview season closes after invitations open (strictly: invitations need time to be
    # booked) and no later than rol_deadline (its default; the refund must not wait past the lists' lock)
    ("invitations_open", "interviews_close", True),
    ("interviews_close", "rol_deadline", False),
) + tuple(  # registration (and applications) open first
    ("registration_opens", key, False) for key in ALL_KEYS if key != "registration_opens"
)


def check_season_id(season: str) -> str:
    if not SEASON_ID.match(season or ""):
        raise ValidationFailed(f"season {season!r} is not a season id",
                               errors=[FieldError("season", "four digits, the Match year, e.g. 2024")])
    return season


@dataclass(frozen=True)
class SeasonCalendar:
    season: str
    instants: dict[str, datetime]
    version: int = 0  # 1, 2, ... each time the calendar is set (0: not stored yet)

    def __getitem__(self, key: str) -> datetime:
        return self.instants[key]

    def iso(self) -> dict[str, str]:
        return {k: v.astimezone(UTC).isoformat().replace("+00:00", "Z") for k, v in self.ordered()}

    def ordered(self) -> list[tuple[str, datetime]]:
        return [(k, self.instants[k]) for k in ALL_KEYS if k in self.instants]

    def set(self, stored: SeasonCalendar | None) -> Change[SeasonCalendar]:
        """This calendar replaces the season's stored one (None: the season is new): it becomes
        the season's next version, and is announced with it (consumers keep the newest)."""
        version = stored.version if stored is not None else 0
        return Change(replace(self, version=version), (SeasonCalendarSet(
            season=self.season, calendar=dict(self.instants), version=version + 1),))


def _parse(value) -> datetime:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    else:
        raise ValueError("not a string")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("no UTC offset")
    return dt.astimezone(UTC)


def parse_calendar(season: str, raw: dict) -> SeasonCalendar:
    """Presence, format (ISO 8601 with offset) and order of every instant; the problem
    names the key(s) concerned. Returns the calendar in UTC."""
    check_season_id(season)
    errors: list[FieldError] = []
    instants: dict[str, datetime] = {}
    for key in ALL_KEYS:
        if key not in raw or raw[key] in (None, ""):
            if key not in OPTIONAL_KEYS:
                errors.append(FieldError(key, "is required (an ISO 8601 instant with offset)"))
            continue
        try:
            instants[key] = _parse(raw[key])
        except (ValueError, TypeError):
            errors.append(FieldError(key, f"{raw[key]!r} is not an ISO 8601 instant with offset, "
                                          "e.g. 2024-02-15T23:59:00-05:00"))
    for key in sorted(set(raw) - set(ALL_KEYS)):
        errors.append(FieldError(key, f"is not a calendar key; the keys are {', '.join(ALL_KEYS)} "
                                      f"(optional: {', '.join(OPTIONAL_KEYS)})"))
    if errors:
        raise ValidationFailed("the season calendar is incomplete or malformed", errors=errors)
    for earlier, later, strict in ORDER:
        if earlier not in instants or later not in instants:
            continue  # an optional key left out
        a, b = instants[earlier], instants[later]
        if a > b or (strict and a == b):
            relation = "before" if strict else "no later than"
            named = earlier if earlier in OPTIONAL_KEYS else later  # the optional key is the one to fix
            errors.append(FieldError(named, f"{earlier} ({a.isoformat()}) must be {relation} {later} "
                                            f"({b.isoformat()})"))
    if errors:
        first = errors[0].message
        raise ValidationFailed(f"the calendar's instants are out of order: {first}", errors=errors)
    return SeasonCalendar(season, instants)


def schedule_name(season: str, key: str) -> str:
    """The EventBridge Scheduler name of one calendar instant ([0-9a-zA-Z-_.]{1,64})."""
    return f"{season}-{key}"
