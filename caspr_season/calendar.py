"""A season calendar relative to a start instant: the days after it of each instant, in the
calendar's order (the e2e tests' seasons and the simulator's)."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.clock import iso

# offsets (days after the season's start instant) in the calendar's order
CALENDAR_OFFSETS = {
    "registration_opens": 0,
    "registration_recommended_by": 10,
    "score_release_deadline": 20,
    "scores_uploaded": 21,
    "application_deadline_default": 25,
    "part1_pass_by": 26,
    "applications_delivered": 27,
    "invitations_open": 30,
    "crip_start": 40,
    "crip_end": 45,
    "non_crip_interviews_from": 46,
    "rol_opens": 47,
    "registration_final": 50,
    "match_application_last": 51,
    "rol_deadline": 52,
    "part2_pass_by": 53,
    "part2_uploaded": 54,
    "match_status_day": 55,
    "mpii_applications_open": 55.01,
    "mpii_application_deadline": 56,
    "mpii_rol_opens": 56.01,
    "mpii_rol_deadline": 57,
    "match_day": 58,
}
FAR = 20 * 365  # days: "never" within one session (instants stay before 2100)


def season_calendar(start: datetime, far_after: str | None = None) -> dict[str, str]:
    """Every instant `CALENDAR_OFFSETS` days after `start` (registration opens at it); `far_after`:
    every instant after that key is FAR days later still (same order)."""
    later = CALENDAR_OFFSETS[far_after] if far_after else None
    return {k: iso(start + timedelta(days=d + (FAR if later is not None and d > later else 0)))
            for k, d in CALENDAR_OFFSETS.items()}
