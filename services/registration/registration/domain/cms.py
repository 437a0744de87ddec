"""R1: the Prometric CMS ID: three letters, a dash, nine letters or digits, stored upper-case."""

from __future__ import annotations

import re

from shared.errors import FieldError, ValidationFailed

CMS_ID = re.compile(r"^[A-Z]{3}-[A-Z0-9]{9}\Z")
CMS_ID_FORM = "three letters, a dash and nine letters or digits, e.g. PRO-2T8P48F5H"


def normalize_cms_id(value: str) -> str:
    """Upper-cases and checks a CMS ID (R1); refuses a wrong format with the expected form."""
    cms = (value or "").strip().upper()
    if not CMS_ID.match(cms):
        raise ValidationFailed(
            f"the CMS ID {value!r} has the wrong format; expected {CMS_ID_FORM}",
            rule="R1", errors=[FieldError("cms_id", f"expected {CMS_ID_FORM}")])
    return cms
