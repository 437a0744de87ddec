"""Registration rules: the applicant, its statuses and transitions (R2, R5, R7), the
registration window (R6), fees and credits (R2, R4).

The applicant is an aggregate that raises its events: every change is a method that returns
a `shared.outbox.Change` (the new state, its `version` still the one read, plus the contract
events and emails the change causes); the repository's versioned save commits all of it in
one transaction. Building the event contracts (shared.contracts, pydantic models) here is an
accepted exception to "no pydantic in the domain": the events are what the rules decide, and
building them anywhere else would mean rebuilding the state by hand."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from registration.domain import emails
from registration.domain.calendar import SeasonCalendar
from registration.domain.profile import check_phone, check_timezone, refuse_immutable
from shared.contracts import (
    ApplicantMatchWithdrawn,
    ApplicantProfileUpdated,
    ApplicantRegistered,
    ApplicantReinstated,
    ApplicantWithdrawn,
    CreditsPurchased,
    RegistrationClosedUnpaid,
)
from shared.errors import Conflict, FieldError, RuleViolation, ValidationFailed
from shared.money import (
    APPLICANT_FEE_CENTS,
    CREDIT_PRICE_CENTS,
    INCLUDED_CREDITS,
    INTERVIEW_FEE_CENTS,
    REGISTRATION_FEE_CENTS,
    dollars,
)
from shared.outbox import Change

PENDING = "pending_payment"
REGISTERED = "registered"
WITHDRAWN = "withdrawn"
CLOSED_UNPAID = "closed_unpaid"
STATUSES = (PENDING, REGISTERED, WITHDRAWN, CLOSED_UNPAID)
WITHDRAWABLE = (PENDING, REGISTERED)
DEFAULT_TIMEZONE = "America/Chicago"  # I6: Central by default
MAX_CREDITS_PER_PURCHASE = 100
PROFILE_FIELDS = ("first_name", "last_name", "address", "phone", "timezone")


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
    # S5 at part1_pass_by was applied (once per applicant: a redelivered event after a
    # reinstatement changes nothing)
    s5_withdrawn: bool = False
    # S5 at part2_pass_by: withdrawn from the Match (M3) while the registration itself stays
    match_withdrawn: bool = False
    match_withdrawal_reason: str | None = None
    match_withdrawn_at: datetime | None = None
    # incremented with every status change (in the same conditional write): events carry it so
    # consumers apply a status only when it is newer than the one they hold (SQS does not order)
    status_version: int = 0
    # the aggregate's version: +1 with every save of the applicant (optimistic concurrency; 0:
    # never stored). status_version counts only the status changes consumers see.
    version: int = 0

    # --- the changes (R2-R7): each returns the new state and what it announces --------------
    @classmethod
    def register(cls, *, applicant_id: str, season: str, first_name: str, last_name: str, email: str,
                 cms_id: str, college: str, graduation_year: int, owner_sub: str | None,
                 calendar: SeasonCalendar, now: datetime) -> Change[Applicant]:
        """R1, R6: a new registration, pending payment (it announces nothing until it is paid;
        R5's uniqueness is the repository's, a condition on the CMS ID's and email's items)."""
        warnings = registration_warnings(calendar, now)
        return Change(cls(
            applicant_id=applicant_id, season=season, first_name=first_name.strip(), last_name=last_name.strip(),
            email=email.strip().lower(), cms_id=cms_id, college=college.strip(), graduation_year=graduation_year,
            status=PENDING, owner_sub=owner_sub, timezone=DEFAULT_TIMEZONE, warnings=warnings, created_at=now))

    def update_profile(self, changes: dict) -> Change[Applicant]:
        """R7 / I6: name, address, phone, time zone; CMS ID, email and season never change.
        A new time zone or name is announced with the name and college as they are now
        (interviews show times in the zone; applications' desk rows show the name)."""
        refuse_immutable(changes)
        clean = {k: v for k, v in changes.items() if v is not None and k in PROFILE_FIELDS}
        if "timezone" in clean:
            check_timezone(clean["timezone"])
        if "phone" in clean:
            clean["phone"] = check_phone(clean["phone"])
        if not clean:
            raise ValidationFailed("nothing to change", errors=[FieldError(
                "body", "send one or more of first_name, last_name, address, phone, timezone")])
        after = replace(self, **clean)
        announced = ("timezone", "first_name", "last_name", "college")
        changed = any(getattr(after, f) != getattr(self, f) for f in announced)
        events = ([ApplicantProfileUpdated(season=self.season, applicant_id=self.applicant_id,
                                           timezone=after.timezone, first_name=after.first_name,
                                           last_name=after.last_name, college=after.college,
                                           version=self.version + 1)] if changed else [])
        return Change(after, tuple(events))

    def reserve_payment(self, intent: str) -> Change[Applicant]:
        """R2: one payment in flight at a time, only while pending (a retried payment never
        charges twice: the card processor's idempotency key derives from the intent)."""
        if self.status != PENDING:
            check_payment(self, self.amount_due_cents)  # raises the precise refusal
        if self.payment_intent:
            raise Conflict("another payment of this registration is in progress; retry in a moment", rule="R2",
                           extra={"retry": True})
        return Change(replace(self, payment_intent=intent))

    def release_payment(self, intent: str) -> Change[Applicant]:
        """R2: the payment in flight ended without completing (declined, refunded)."""
        return Change(replace(self, payment_intent=None) if self.payment_intent == intent else self)

    def complete_registration(self, code_number: str, *, payment_id: str, payment_key: str,
                              now: datetime) -> Change[Applicant]:
        """R2, R3: the fee is paid: registered, with its Code Number, the included credits, and
        the confirmation email that carries the number."""
        if self.status != PENDING or not self.payment_intent:
            raise Conflict(f"the registration is {self.status} and can no longer be paid", rule="R2")
        done = replace(self, status=REGISTERED, code_number=code_number, credits_total=included_credits(),
                       registered_at=now, payment_id=payment_id, payment_key=payment_key, payment_intent=None,
                       status_version=self.status_version + 1)
        registered = ApplicantRegistered(
            season=done.season, applicant_id=done.applicant_id, code_number=code_number, cms_id=done.cms_id,
            email=done.email, first_name=done.first_name, last_name=done.last_name, college=done.college,
            graduation_year=done.graduation_year, timezone=done.timezone, credits_total=done.credits_total,
            owner_sub=done.owner_sub, version=done.status_version)
        return Change(done, (registered,), (emails.code_number_confirmation(done),))

    def add_credits(self, quantity: int) -> Change[Applicant]:
        """R4: credits bought ($15 each)."""
        check_can_buy_credits(self)
        cents = credits_charge_cents(quantity)
        after = replace(self, credits_total=self.credits_total + quantity)
        return Change(after, (CreditsPurchased(season=self.season, applicant_id=self.applicant_id, quantity=quantity,
                                               credits_total=after.credits_total, charged_cents=cents),))

    def withdraw(self, reason: str, now: datetime) -> Change[Applicant]:
        """R7: a registered or pending registration is withdrawn (refunds nothing now, R2)."""
        check_withdraw(self)
        after = replace(self, status=WITHDRAWN, status_before_withdrawal=self.status, withdrawal_reason=reason,
                        withdrawn_at=now, status_version=self.status_version + 1)
        return Change(after, (ApplicantWithdrawn(season=self.season, applicant_id=self.applicant_id,
                                                 code_number=self.code_number, reason=reason,
                                                 version=after.status_version),))

    def reinstate(self, calendar: SeasonCalendar, now: datetime) -> Change[Applicant]:
        """R7: a withdrawn registration comes back to the status it had, before registration_final."""
        to_status = check_reinstate(self, calendar, now)
        after = replace(self, status=to_status, status_before_withdrawal=None, withdrawal_reason=None,
                        withdrawn_at=None, status_version=self.status_version + 1)
        return Change(after, (ApplicantReinstated(season=self.season, applicant_id=self.applicant_id,
                                                  code_number=self.code_number, version=after.status_version),))

    def withdraw_for_scores(self, reason: str, now: datetime) -> Change[Applicant]:
        """S5 at part1_pass_by (no APMLE Part I pass): withdrawn from CASPR as R7 withdraws, with
        the reason naming S5. Idempotent: a registration already withdrawn (or closed unpaid)
        stays as it is and announces nothing, and so does one withdrawn by S5 before and reinstated
        since (a redelivery); a registration still pending payment is withdrawn
        too (R7 withdraws pending ones; it could otherwise be paid into CASPR without a pass)."""
        if self.s5_withdrawn or self.status not in WITHDRAWABLE:
            return Change(self)
        change = self.withdraw(s5_reason(reason), now)
        return Change(replace(change.state, s5_withdrawn=True), change.events, change.emails)

    def withdraw_from_match(self, reason: str, now: datetime) -> Change[Applicant]:
        """S5 at part2_pass_by (no Part II Written pass, or no CSPE pass where S4 requires it):
        withdrawn from the Match (M3) while the registration stays; announced with the next
        status_version. Idempotent: once withdrawn from the Match, nothing more. Only a
        registration that completed (registered, or withdrawn after it) has a place in the
        Match; one pending payment or closed unpaid is left as it is."""
        if self.match_withdrawn or self.code_number is None or self.status not in (REGISTERED, WITHDRAWN):
            return Change(self)
        reason = s5_reason(reason)
        after = replace(self, match_withdrawn=True, match_withdrawal_reason=reason, match_withdrawn_at=now,
                        status_version=self.status_version + 1)
        return Change(after, (ApplicantMatchWithdrawn(season=self.season, applicant_id=self.applicant_id,
                                                      code_number=self.code_number, reason=reason,
                                                      version=after.status_version),))

    def record_credits_used(self, credits_used: int) -> Change[Applicant]:
        """A5 / R4: the applications service spends the credits (one per designation) and says
        how many are spent; registration keeps the highest count seen (events arrive in any order,
        and twice), so credits_left agrees in both services once the events settle."""
        if credits_used <= self.credits_used:
            return Change(self)
        return Change(replace(self, credits_used=credits_used))

    def close_unpaid(self) -> Change[Applicant]:
        """R6: registration_final closes a registration still pending payment, and says so by email."""
        if self.status != PENDING:
            raise Conflict(f"only a registration pending payment is closed unpaid; this one is {self.status}",
                           rule="R6")
        after = replace(self, status=CLOSED_UNPAID, status_version=self.status_version + 1)
        return Change(after, (RegistrationClosedUnpaid(season=self.season, applicant_id=self.applicant_id),),
                      (emails.closed_unpaid(after),))

    @property
    def amount_due_cents(self) -> int:
        return registration_fee_cents() if self.status == PENDING else 0

    @property
    def credits_left(self) -> int:
        return self.credits_total - self.credits_used


def s5_reason(reason: str) -> str:
    """The reason of an automatic withdrawal always names S5."""
    reason = (reason or "").strip() or "withdrawn automatically"
    return reason if "S5" in reason else f"S5: {reason}"


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
