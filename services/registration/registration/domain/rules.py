"""Registration rules: the applicant, its statuses and transitions (R2, R5, R7), the
registration window (R6), fees and credits (R2, R4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from registration.domain.calendar import SeasonCalendar
from shared.errors import Conflict, FieldError, RuleViolation, ValidationFailed
from shared.money import (
    APPLICANT_FEE_CENTS,
    CREDIT_PRICE_CENTS,
    INCLUDED_CREDITS,
    INTERVIEW_FEE_CENTS,
    REGISTRATION_FEE_CENTS,
    dollars,
)

PENDING = "pending_payment"
REGISTERED = "registered"
WITHDRAWN = "withdrawn"
CLOSED_UNPAID = "closed_unpaid"
STATUSES = (PENDING, REGISTERED, WITHDRAWN, CLOSED_UNPAID)
WITHDRAWABLE = (PENDING, REGISTERED)
DEFAULT_TIMEZONE = "America/Chicago"  # I6: Central by default
MAX_CREDITS_PER_PURCHASE = 100


@dataclass
class Applicant:
    applicant_id: str
    season: str
    first_name: str
    last_name: str
    email: str
    cms_id: str
    college: str
    graduation_year: int
    status: str = PENDING
    owner_sub: str | None = None
    code_number: str | None = None
    credits_total: int = 0
    credits_used: int = 0
    timezone: str = DEFAULT_TIMEZONE
    address: dict | None = None
    phone: str | None = None
    warnings: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    registered_at: datetime | None = None
    payment_id: str | None = None
    payment_key: str | None = None
    payment_intent: str | None = None
    status_before_withdrawal: str | None = None
    withdrawal_reason: str | None = None
    withdrawn_at: datetime | None = None
    # incremented with every status change (in the same conditional write): events carry it so
    # consumers apply a status only when it is newer than the one they hold (SQS does not order)
    status_version: int = 0

    @property
    def amount_due_cents(self) -> int:
        return registration_fee_cents() if self.status == PENDING else 0

    @property
    def credits_left(self) -> int:
        return self.credits_total - self.credits_used


def fmt(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


# --- R6: the registration window -----------------------------------------------------------
def registration_warnings(calendar: SeasonCalendar, now: datetime) -> list[str]:
    """R6: refused before registration_opens and after registration_final; after
    registration_recommended_by accepted with a warning (returned)."""
    opens, recommended, final = (calendar["registration_opens"], calendar["registration_recommended_by"],
                                 calendar["registration_final"])
    if now < opens:
        raise RuleViolation(f"registration for season {calendar.season} opens at {fmt(opens)}; "
                            "try again then", rule="R6", errors=[FieldError("season", "registration not open yet")])
    if now > final:
        raise RuleViolation(f"registration for season {calendar.season} closed at {fmt(final)} "
                            "(registration_final); no registration is accepted after it", rule="R6",
                            errors=[FieldError("season", "registration is closed")])
    if now > recommended:
        return [f"R6: registering after the recommended date ({fmt(recommended)}) leaves less time to "
                f"apply; registration closes for good at {fmt(final)}"]
    return []


def check_payment_window(calendar: SeasonCalendar, now: datetime) -> None:
    """Registration completes on payment (R2), so paying is refused after registration_final (R6)."""
    final = calendar["registration_final"]
    if now > final:
        raise RuleViolation(f"registration for season {calendar.season} closed at {fmt(final)} "
                            "(registration_final); an unpaid registration can no longer be completed", rule="R6")


# --- R2 / R4: money ---------------------------------------------------------------------------
FEE_PARTS: tuple[tuple[str, int], ...] = (("applicant_fee", APPLICANT_FEE_CENTS),
                                          ("interview_fee", INTERVIEW_FEE_CENTS))


def registration_fee_cents() -> int:
    return REGISTRATION_FEE_CENTS


def included_credits() -> int:
    return INCLUDED_CREDITS


def check_payment(applicant: Applicant, amount_cents: int) -> None:
    """R2: the fee is paid once and in full."""
    if applicant.status == REGISTERED:
        raise Conflict(f"the registration fee is already paid (code number {applicant.code_number})",
                       rule="R2")
    if applicant.status == CLOSED_UNPAID:
        raise RuleViolation("this registration was closed unpaid at registration_final; it cannot be paid",
                            rule="R6")
    if applicant.status != PENDING:
        raise Conflict(f"a {applicant.status} registration cannot be paid; reinstate it first (R7)", rule="R7")
    due = applicant.amount_due_cents
    if amount_cents != due:
        raise ValidationFailed(
            f"the amount due is {dollars(due)} ({due} cents): applicant fee {dollars(APPLICANT_FEE_CENTS)} + "
            f"interview scheduling fee {dollars(INTERVIEW_FEE_CENTS)}", rule="R2",
            errors=[FieldError("amount_cents", f"must be {due}")])


def credits_charge_cents(quantity: int) -> int:
    """R4: $15 per credit, 1..100 at a time."""
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_CREDITS_PER_PURCHASE:
        raise ValidationFailed("credits are bought 1 to 100 at a time", rule="R4",
                               errors=[FieldError("quantity", f"an integer from 1 to {MAX_CREDITS_PER_PURCHASE}")])
    return quantity * CREDIT_PRICE_CENTS


def check_can_buy_credits(applicant: Applicant) -> None:
    if applicant.status != REGISTERED:
        raise Conflict(f"only registered applicants buy credits; this registration is {applicant.status}"
                       + (" (pay the registration fee first)" if applicant.status == PENDING else ""), rule="R4")


# --- R7: withdrawal and reinstatement -----------------------------------------------------
def check_withdraw(applicant: Applicant) -> None:
    if applicant.status not in WITHDRAWABLE:
        raise Conflict(f"only a registered or pending registration can be withdrawn; this one is "
                       f"{applicant.status}", rule="R7")


def check_reinstate(applicant: Applicant, calendar: SeasonCalendar, now: datetime) -> str:
    """R7: reinstatement only of a withdrawn registration, and before registration_final.
    Returns the status the registration goes back to."""
    if applicant.status != WITHDRAWN:
        raise Conflict(f"only a withdrawn registration can be reinstated; this one is {applicant.status}",
                       rule="R7")
    final = calendar["registration_final"]
    if now > final:
        raise RuleViolation(f"reinstatement closed at {fmt(final)} (registration_final of season "
                            f"{calendar.season})", rule="R7")
    return applicant.status_before_withdrawal or PENDING
