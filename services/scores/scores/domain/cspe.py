"""S4: the CSPE requirement by graduating class, a season table (pure rules)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import FieldError, RuleViolation, ValidationFailed

REQUIRED, EXEMPT, NOT_ELIGIBLE = "required", "exempt", "not_eligible"
CSPE_STATUSES = (REQUIRED, EXEMPT, NOT_ELIGIBLE)
DEFAULT = EXEMPT  # a class no rule covers: CSPE is not asked of it (its reason says so)


@dataclass(frozen=True)
class CspeRule:
    class_from: int
    class_to: int
    cspe: str

    def covers(self, graduation_year: int) -> bool:
        return self.class_from <= graduation_year <= self.class_to


def check_rules(rules: list[CspeRule]) -> list[CspeRule]:
    """S4: each range is ordered and no two ranges overlap (a class has one requirement)."""
    errors = []
    for i, r in enumerate(rules):
        if r.cspe not in CSPE_STATUSES:
            errors.append(FieldError(f"rules.{i}.cspe", f"one of {', '.join(CSPE_STATUSES)}"))
        if r.class_from > r.class_to:
            errors.append(FieldError(f"rules.{i}", f"class_from {r.class_from} is after class_to {r.class_to}"))
    if errors:
        raise ValidationFailed("the CSPE table has invalid rules", rule="S4", errors=errors)
    ordered = sorted(enumerate(rules), key=lambda p: (p[1].class_from, p[1].class_to))
    for (i, a), (j, b) in zip(ordered, ordered[1:], strict=False):
        if b.class_from <= a.class_to:
            raise RuleViolation(
                f"CSPE rules overlap: classes {a.class_from}-{a.class_to} and {b.class_from}-{b.class_to} "
                "(each graduating class has one requirement, S4)", rule="S4",
                errors=[FieldError(f"rules.{j}", f"overlaps rules.{i} ({a.class_from}-{a.class_to})")])
    return [r for _, r in ordered]


def requirement(rules: list[CspeRule], graduation_year: int | None) -> tuple[str, str | None]:
    """The class's CSPE status and, when no rule covers it, why the default applies."""
    if graduation_year is not None:
        for r in rules:
            if r.covers(graduation_year):
                return r.cspe, None
    return DEFAULT, f"no CSPE rule of the season covers the class of {graduation_year}: CSPE is not required (S4)"
