"""S1, S2: the APMLE score release form (pure rules)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from shared.errors import FieldError, RuleViolation, ValidationFailed

ATT_NUMBER = re.compile(r"^00[0-9]{7}\Z")
ATT_FORM = "nine digits beginning with 00, e.g. 007885050"
CMS_ID = re.compile(r"^[A-Z]{3}-[A-Z0-9]{9}\Z")
CMS_ID_FORM = "three letters, a dash and nine letters or digits, e.g. PRO-2T8P48F5H, or N/A when you have none"
NO_CMS_ID = "N/A"
MAX_EXPLANATION = 2000
MAX_NAME = 200


def normalize_att(value: str, field: str = "att_number") -> str:
    """S1: the ATT (Authorization to Test) number: nine digits beginning with 00."""
    att = (value or "").strip()
    if not ATT_NUMBER.match(att):
        raise ValidationFailed(f"the ATT number {clip(value)!r} has the wrong format; expected {ATT_FORM}",
                               rule="S1", errors=[FieldError(field, f"expected {ATT_FORM}")])
    return att


def normalize_cms(value: str, field: str = "cms_id") -> str:
    """S1 (R1's form): the CMS ID stored upper-case, or N/A."""
    cms = (value or "").strip().upper()
    if cms in ("N/A", "NA"):
        return NO_CMS_ID
    if not CMS_ID.match(cms):
        raise ValidationFailed(f"the CMS ID {clip(value)!r} has the wrong format; expected {CMS_ID_FORM}",
                               rule="S1", errors=[FieldError(field, f"expected {CMS_ID_FORM}")])
    return cms


def clip(value, limit: int = 40) -> str:
    text = str(value or "")
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class Release:
    """An applicant's signed score release. `name_at_exam` is stored, never shown back (S1)."""

    applicant_id: str
    season: str
    att_number: str
    cms_id: str
    name_at_exam: str
    explanation: str
    authorize_part1: bool
    authorize_part2: bool
    released_at: datetime
    updated_at: datetime
    on_time: bool
    version: int = 0  # 0: not stored yet


def check_form(*, att_number: str, cms_id: str, name_at_exam: str, explanation: str | None,
               authorize_part1: bool, authorize_part2: bool) -> dict:
    """S1: every field checked, every problem named at once."""
    errors: list[FieldError] = []
    out: dict = {}
    rule = None
    for name, fn, raw in (("att_number", normalize_att, att_number), ("cms_id", normalize_cms, cms_id)):
        try:
            out[name] = fn(raw)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            rule = "S1"
    name = (name_at_exam or "").strip()
    if not name:
        errors.append(FieldError("name_at_exam", "is required: your name as it was when you took the exam"))
    elif len(name) > MAX_NAME:
        errors.append(FieldError("name_at_exam", f"at most {MAX_NAME} characters"))
    out["name_at_exam"] = name
    text = (explanation or "").strip()
    if len(text) > MAX_EXPLANATION:
        errors.append(FieldError("explanation", f"at most {MAX_EXPLANATION} characters (this one has {len(text)})"))
    out["explanation"] = text
    if errors:
        first = errors[0]
        raise ValidationFailed(f"the score release has invalid fields: {first.field} {first.message}",
                               rule=rule, errors=errors)
    missing = [f for f, v in (("authorize_part1", authorize_part1), ("authorize_part2", authorize_part2)) if v is not True]
    if missing:
        raise RuleViolation(
            "the release must be signed for Part I and for Part II (Written and Clinical/CSPE): "
            f"{' and '.join(missing)} must be true (S1)", rule="S1",
            errors=[FieldError(f, "must be true: the release is signed for this part") for f in missing])
    out["authorize_part1"] = out["authorize_part2"] = True
    return out


def on_time(released_at: datetime, deadline: datetime | None) -> bool:
    """S2: a release made after score_release_deadline is late (unknown deadline: on time)."""
    return deadline is None or released_at <= deadline


def release(current: Release | None, *, applicant_id: str, season: str, form: dict, now: datetime,
            deadline: datetime | None) -> Release:
    """The new state of the release: the first release's instant decides on_time (S2)."""
    if current is None:
        return Release(applicant_id=applicant_id, season=season, released_at=now, updated_at=now,
                       on_time=on_time(now, deadline), **form)
    return replace(current, updated_at=now, **form)
