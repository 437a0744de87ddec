"""Who may create which account."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.auth import Principal
from shared.errors import FieldError, Forbidden, ValidationFailed

PROGRAM_CODE = re.compile(r"^[0-9]{3}\Z")


@dataclass(frozen=True)
class NewAccount:
    email: str
    password: str
    role: str
    groups: tuple[str, ...]
    verified: bool = False  # email ownership: proven by the emailed link, or vouched for by an administrator


def plan_account(email: str, password: str, role: str | None, program_code: str | None,
                 college: str | None, creator: Principal | None) -> NewAccount:
    """Applicants sign up themselves; program, college and administrator accounts are
    created by an administrator (a program account belongs to one program code)."""
    role = role or "applicant"
    if role != "applicant" and (creator is None or not creator.is_admin):
        raise Forbidden(f"only an administrator may create {role} accounts; applicants sign up without a role")
    groups = [role]
    if role == "program":
        if not program_code or not PROGRAM_CODE.match(program_code):
            raise ValidationFailed("a program account needs its program's code",
                                   errors=[FieldError("program_code", "3 digits, e.g. 123")])
        groups.append(f"program-{program_code}")
    elif program_code:
        raise ValidationFailed("program_code goes only with role 'program'",
                               errors=[FieldError("program_code", "remove it, or set role to 'program'")])
    if role == "college":
        if not college:
            raise ValidationFailed("a college account needs its college",
                                   errors=[FieldError("college", "the college's short name, e.g. TUSPM")])
        groups.append(f"college-{college.upper()}")
    return NewAccount(email=email.strip().lower(), password=password, role=role, groups=tuple(groups),
                      verified=creator is not None and creator.is_admin)
