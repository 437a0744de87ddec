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


INTERVIEW_FEE = "interview_fee"


def interview_fee_refund_id(season: str) -> str:
    """I8: the one refund entry of the interview scheduling fee of an applicant in a season (the
    ledger's key is the applicant's, so season + applicant key it): however often the refund is
    announced, a conditional put of this id writes it once."""
    return f"i8-{season}.{INTERVIEW_FEE}.{REFUND}"


def interview_fee_refund(applicant_id: str, season: str, entries: list[LedgerEntry], at: datetime,
                         refund_ref: str | None = None) -> LedgerEntry | None:
    """I8 / R2: the refund entry of the $250 interview scheduling fee, or None when nothing is due:
    the fee was never paid (no charge entry), or it was refunded already (by I8 before, or with a
    registration refunded whole). The amount is the fee part of the ledger, never the event's."""
    fee = [e for e in entries if e.part == INTERVIEW_FEE and e.season == season]
    charges = [e for e in fee if e.kind == CHARGE]
    held = sum(e.signed_cents for e in fee)
    if not charges or held <= 0 or any(e.entry_id == interview_fee_refund_id(season) for e in fee):
        return None
    return LedgerEntry(interview_fee_refund_id(season), applicant_id, season, REFUND, INTERVIEW_FEE, held,
                       charges[0].payment_id, at, refund_ref,
                       note="I8: no interview was booked through CASPR by interviews_close: the interview "
                            "scheduling fee is refunded (R2)")


def fee_charge_ref(entries: list[LedgerEntry], season: str) -> str | None:
    """The card processor's reference of the interview fee's charge (a refund names it)."""
    return next((e.provider_ref for e in entries
                 if e.part == INTERVIEW_FEE and e.kind == CHARGE and e.season == season), None)
