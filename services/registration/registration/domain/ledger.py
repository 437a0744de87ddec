"""R2 / R4: the append-only ledger of money movements. An entry is never changed or
removed; a refund is a new entry. Entry ids derive from the payment, so writing the
same payment's entries twice (a retry) cannot add a second charge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from registration.domain.rules import FEE_PARTS
from shared.money import CREDIT_PRICE_CENTS

CHARGE = "charge"
REFUND = "refund"


@dataclass(frozen=True)
class LedgerEntry:
    entry_id: str
    applicant_id: str
    season: str
    kind: str  # charge | refund
    part: str  # applicant_fee | interview_fee | credits
    amount_cents: int  # positive; a refund is money going back
    payment_id: str
    at: datetime
    provider_ref: str | None = None
    quantity: int | None = None
    note: str | None = None

    @property
    def signed_cents(self) -> int:
        return self.amount_cents if self.kind == CHARGE else -self.amount_cents


def registration_entries(applicant_id: str, season: str, payment_id: str, provider_ref: str, at: datetime,
                         kind: str = CHARGE) -> list[LedgerEntry]:
    """R2: one entry per fee part ($300 applicant fee, $250 interview scheduling fee)."""
    return [LedgerEntry(f"{payment_id}.{part}.{kind}", applicant_id, season, kind, part, cents, payment_id, at,
                        provider_ref) for part, cents in FEE_PARTS]


def credit_entries(applicant_id: str, season: str, payment_id: str, provider_ref: str, at: datetime,
                   quantity: int, kind: str = CHARGE) -> list[LedgerEntry]:
    """R4: one entry for the credits bought ($15 each)."""
    return [LedgerEntry(f"{payment_id}.credits.{kind}", applicant_id, season, kind, "credits",
                        quantity * CREDIT_PRICE_CENTS, payment_id, at, provider_ref, quantity)]


def balance_cents(entries: list[LedgerEntry]) -> int:
    return sum(e.signed_cents for e in entries)
