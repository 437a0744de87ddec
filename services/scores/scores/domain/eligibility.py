"""S4, S5, A3: what an applicant's recorded attempts allow (pure rules)."""

from __future__ import annotations

from dataclasses import dataclass

from scores.domain.cspe import REQUIRED, CspeRule, requirement
from scores.domain.results import CSPE, PART1, PART2_WRITTEN, Attempt, passed

CASPR, MATCH = "caspr", "match"  # the scopes of an S5 withdrawal


@dataclass(frozen=True)
class Eligibility:
    part1_passed: bool
    part2_written_passed: bool
    cspe: str
    cspe_passed: bool
    may_apply: bool
    match_eligible: bool
    reasons: tuple[str, ...]


def eligibility(attempts: list[Attempt], rules: list[CspeRule], graduation_year: int | None) -> Eligibility:
    """Only official attempts count (S7: a self-reported one counts once verified)."""
    p1 = passed(attempts, PART1)
    p2 = passed(attempts, PART2_WRITTEN)
    cspe_status, why_default = requirement(rules, graduation_year)
    cspe_ok = passed(attempts, CSPE)
    reasons = []
    if not p1:
        reasons.append("no APMLE Part I pass recorded: applications cannot be sent yet (A3), and without it by "
                       "part1_pass_by the applicant is withdrawn from CASPR (S5)")
    if not p2:
        reasons.append("no APMLE Part II Written pass recorded: without it by part2_pass_by the applicant is "
                       "withdrawn from the Match (S5)")
    if cspe_status == REQUIRED and not cspe_ok:
        reasons.append(f"the class of {graduation_year} must pass the CSPE (S4) and no CSPE pass is recorded: "
                       "without it by part2_pass_by the applicant is withdrawn from the Match (S5)")
    if why_default:
        reasons.append(why_default)
    return Eligibility(part1_passed=p1, part2_written_passed=p2, cspe=cspe_status, cspe_passed=cspe_ok,
                       may_apply=p1, match_eligible=p2 and (cspe_status != REQUIRED or cspe_ok),
                       reasons=tuple(reasons))


def withdrawal_due(scope: str, e: Eligibility) -> str | None:
    """S5: the reason of the automatic withdrawal at part1_pass_by (scope caspr) or part2_pass_by
    (scope match), or None when the recorded passes prevent it."""
    if scope == CASPR:
        if e.part1_passed:
            return None
        return "S5: no APMLE Part I pass by part1_pass_by: withdrawn from CASPR"
    if e.match_eligible:
        return None
    missing = [name for name, ok in (("Part II Written", e.part2_written_passed),
                                     ("CSPE", e.cspe != REQUIRED or e.cspe_passed)) if not ok]
    return f"S5: no APMLE {' and no '.join(missing)} pass by part2_pass_by: withdrawn from the Match"
