"""R7 / I6: the applicant's profile: address, phone, time zone (IANA name)."""

from __future__ import annotations

import re
from functools import lru_cache
from zoneinfo import available_timezones

from shared.errors import FieldError, ValidationFailed

IMMUTABLE = ("cms_id", "email", "season")
PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{6,24}\Z")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(name: str) -> str:
    """I6: an IANA time zone name (e.g. America/Chicago)."""
    if name not in _zones():
        raise ValidationFailed(f"{name!r} is not a time zone", rule="I6", errors=[FieldError(
            "timezone", "an IANA time zone name, e.g. America/Chicago or America/New_York")])
    return name


def check_phone(phone: str) -> str:
    if not PHONE.match(phone.strip()):
        raise ValidationFailed("the phone number is not valid", errors=[FieldError(
            "phone", "digits with an optional leading +, e.g. +1 312 555 0100")])
    return phone.strip()


def refuse_immutable(changes: dict) -> None:
    bad = [f for f in IMMUTABLE if changes.get(f) is not None]
    if bad:
        raise ValidationFailed(
            f"{', '.join(bad)} cannot be changed (R5: one registration per person and season); "
            "withdraw and register again, or ask an administrator",
            rule="R7", errors=[FieldError(f, "cannot be changed") for f in bad])
