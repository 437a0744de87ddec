"""Designations, credits and delivery (A3, A4, A5, R4, M7): pure rules.

- A3: only an applicant with an APMLE Part I pass (the scores service's scores.may_apply.v1)
  sends applications.
- A4: a program's deadline is its own application_deadline, else the season's
  application_deadline_default, never after match_application_last.
- A5: one credit a designation (R4: more are bought in registration); delivered at
  applications_delivered when designated before it, at once after.
- M7: from mpii_applications_open to mpii_application_deadline an applicant in MPII designates
  programs with an MPII track (round "mpii")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.errors import Conflict, FieldError, RuleViolation

MATCH, MPII = "match", "mpii"
# the calendar instants these rules read (Calendar.get): a calendar holding all of them needs
# nothing from the deadline events seen
RULE_INSTANTS = ("application_deadline_default", "match_application_last", "mpii_applications_open",
                 "mpii_application_deadline", "applications_delivered")


@dataclass(frozen=True)
class ApplicantFacts:
    """What this service knows of a registered applicant (from registration's and scores'
    events) and its credit counter (spent here, one per designation)."""

    applicant_id: str
    season: str
    owner_sub: str | None = None
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    code_number: str | None = None
    college: str = ""
    withdrawn: bool = False
    may_apply: bool = False
    in_mpii: bool = False
    scores_released: bool = False
    release_explanation: str = ""
    release_missing: bool = False
    results: tuple[dict, ...] = ()  # exam attempts (S6): exam, exam_date, result, official, visible_from
    results_version: int = 0  # how many times the attempts were written (the desk rows' guard)
    profile_version: int = 0  # registration's version of the name and college held (the desk rows' guard)
    programs_designated: tuple[str, ...] = ()  # A2: the college's progress list shows them
    credits_total: int = 0
    credits_used: int = 0

    @property
    def credits_left(self) -> int:
        return max(0, self.credits_total - self.credits_used)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class ProgramFacts:
    season: str
    program_code: str
    name: str = ""
    application_deadline: datetime | None = None
    mpii_tracks: tuple[str, ...] = ()
    track_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Designation:
    applicant_id: str
    season: str
    program_code: str
    round: str
    designated_at: datetime
    delivered_at: datetime | None = None
    credit_number: int = 0  # which of the applicant's credits it spent (1, 2, ...)
    idempotency_key: str | None = None  # the Idempotency-Key of the request that made it


@dataclass(frozen=True)
class Calendar:
    season: str
    instants: dict[str, datetime] = field(default_factory=dict)

    def get(self, key: str) -> datetime | None:
        return self.instants.get(key)


def program_deadline(program: ProgramFacts, calendar: Calendar) -> datetime | None:
    """A4: the program's own deadline, else the season's default, never after match_application_last."""
    deadline = program.application_deadline or calendar.get("application_deadline_default")
    last = calendar.get("match_application_last")
    if deadline is not None and last is not None:
        return min(deadline, last)
    return deadline or last


def in_mpii_window(calendar: Calendar, now: datetime) -> bool:
    opens, closes = calendar.get("mpii_applications_open"), calendar.get("mpii_application_deadline")
    return opens is not None and closes is not None and opens <= now < closes


def delivery_instant(calendar: Calendar, now: datetime, round_: str) -> datetime | None:
    """A5: designated before applications_delivered: delivered then (None: not yet); later: now.
    MPII applications are delivered at once (M7)."""
    if round_ == MPII:
        return now
    at = calendar.get("applications_delivered")
    if at is None or now < at:
        return None
    return now


def check_designation(facts: ApplicantFacts, submitted: bool, program: ProgramFacts, calendar: Calendar,
                      now: datetime, already: set[tuple[str, str]]) -> tuple[str, datetime | None]:
    """The rules a designation must pass, in the order a person would fix them; returns its
    round and its delivery instant (None: at applications_delivered)."""
    credits_url = f"POST /registration/applicants/{facts.applicant_id}/credits"
    if facts.withdrawn:
        raise RuleViolation("a withdrawn applicant sends no applications; reinstate the registration first (R7)",
                            rule="R7")
    if not submitted:
        raise RuleViolation("submit the application first (POST /applications/applicants/"
                            f"{facts.applicant_id}/submission): it needs a personal statement, a CV and at least 3 "
                            "letter requests (A1)", rule="A1")
    if not facts.may_apply:
        raise RuleViolation("applications can be sent only once APMLE Part I is passed (A3); AACPM uploads the "
                            "results from Prometric by your CMS ID", rule="A3")
    round_ = MATCH
    if in_mpii_window(calendar, now):
        if not facts.in_mpii:
            raise RuleViolation("only applicants taking part in MPII send applications between "
                                "mpii_applications_open and mpii_application_deadline (M7)", rule="M7")
        if not program.mpii_tracks:
            raise RuleViolation(f"program {program.program_code} has no track in MPII (M7)", rule="M7",
                                errors=[FieldError("program_code", "no MPII track")])
        round_ = MPII
    else:
        deadline = program_deadline(program, calendar)
        if deadline is not None and now > deadline:
            raise RuleViolation(f"program {program.program_code}'s application deadline "
                                f"{deadline.isoformat()} has passed (A4)", rule="A4",
                                extra={"deadline": deadline.isoformat()})
    if (round_, program.program_code) in already:
        raise Conflict(f"you have designated program {program.program_code} already"
                       + (" in MPII" if round_ == MPII else ""), rule="A5",
                       errors=[FieldError("program_code", "already designated")])
    if facts.credits_left <= 0:
        raise no_credit(facts.applicant_id, credits_url)
    return round_, delivery_instant(calendar, now, round_)


def check_counter(facts: ApplicantFacts) -> None:
    """What the credit counter's condition guards, named: a withdrawal, the Part I pass, a credit left."""
    if facts.withdrawn:
        raise RuleViolation("a withdrawn applicant sends no applications; reinstate the registration first (R7)",
                            rule="R7")
    if not facts.may_apply:
        raise RuleViolation("applications can be sent only once APMLE Part I is passed (A3)", rule="A3")
    if facts.credits_left <= 0:
        raise no_credit(facts.applicant_id)


def no_credit(applicant_id: str, credits_url: str | None = None) -> RuleViolation:
    url = credits_url or f"POST /registration/applicants/{applicant_id}/credits"
    return RuleViolation(f"no application credit left: each designation uses one (A5); buy more, $15 each, with "
                         f"{url} (R4)", rule="A5", extra={"buy_credits": url})
