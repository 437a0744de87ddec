"""The emails registration sends (R3, R6): their texts are domain rules, like the events.
The domain methods that cause them (rules.Applicant) return them in their Change; they are
written to the outbox with the state change and sent by the relay."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.email import Email
from shared.money import (
    APPLICANT_FEE_CENTS,
    INCLUDED_CREDITS,
    INTERVIEW_FEE_CENTS,
    REGISTRATION_FEE_CENTS,
    dollars,
)

if TYPE_CHECKING:
    from registration.domain.rules import Applicant


def code_number_confirmation(a: Applicant) -> Email:
    """R3: the confirmation of a completed registration carries the Code Number."""
    return Email(
        to=a.email,
        subject=f"CASPR registration complete: your Code Number is {a.code_number}",
        body=(f"Dear {a.first_name} {a.last_name},\n\n"
              f"your registration for the {a.season} CASPR season is complete.\n\n"
              f"Your Code Number: {a.code_number}\n\n"
              f"Paid: {dollars(REGISTRATION_FEE_CENTS)} ({dollars(APPLICANT_FEE_CENTS)} applicant fee, "
              f"non-refundable, with {INCLUDED_CREDITS} application credits and participation in the Match "
              f"and MPII; {dollars(INTERVIEW_FEE_CENTS)} interview scheduling fee, refunded if you schedule no "
              f"interview through CASPR).\n"
              f"Payment reference: {a.payment_id}\n\nCASPR\n"))


def closed_unpaid(a: Applicant) -> Email:
    """R6: registration_final closed the unpaid registration."""
    return Email(
        to=a.email, subject=f"CASPR season {a.season}: your registration was closed unpaid",
        body=(f"Dear {a.first_name} {a.last_name},\n\nthe registration deadline of the {a.season} CASPR season "
              "has passed and your registration fee was not paid, so your registration is closed (R6). "
              "Nothing was charged.\n\nCASPR\n"))


def interview_fee_refunded(a: Applicant, amount_cents: int, refund_ref: str | None) -> Email:
    """I8 / R2: the interview scheduling fee goes back to an applicant who booked no interview
    through CASPR by the close of the interview season."""
    return Email(
        to=a.email, subject=f"CASPR season {a.season}: your {dollars(amount_cents)} interview scheduling fee is "
                            "refunded",
        body=(f"Dear {a.first_name} {a.last_name},\n\n"
              f"your {dollars(amount_cents)} interview scheduling fee is refunded because you booked no interview "
              f"through CASPR by the close of the {a.season} interview season (I8, R2). The refund goes back to "
              f"the card you paid with"
              + (f" (refund reference {refund_ref})" if refund_ref else "") + ".\n\n"
              "The $300 applicant fee is non-refundable (R2).\n\nCASPR\n"))
