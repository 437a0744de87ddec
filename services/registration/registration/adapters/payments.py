"""The payment provider (card processor) behind registration fees and credits (R2, R4).

PaymentProvider is the interface; LocalTestProvider behaves like a card processor's
test mode, and is what the local stack and the tests use:
- 4242424242424242 succeeds;
- 4000000000000002 is declined (402);
- 4000000000000119 fails transiently (503, retry with the same Idempotency-Key);
- any other number is declined: "use a test card".
Like a real processor it is idempotent per idempotency key: the same key never
charges twice."""

from __future__ import annotations

import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass

from shared.errors import FieldError, PaymentDeclined, TemporarilyUnavailable

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
TRANSIENT = "4000000000000119"


class CardDeclined(PaymentDeclined):
    """The processor refused the card; the same request will be refused again."""


class ProviderUnavailable(TemporarilyUnavailable):
    """The processor failed transiently; nothing was charged; the same request may be retried."""


@dataclass(frozen=True)
class Charge:
    charge_id: str
    amount_cents: int
    idempotency_key: str
    description: str
    refunded: bool = False


class PaymentProvider(ABC):
    @abstractmethod
    def charge(self, *, amount_cents: int, card_number: str, idempotency_key: str, description: str) -> Charge:
        """Charges the card once per idempotency key; raises CardDeclined or ProviderUnavailable."""

    @abstractmethod
    def refund(self, charge_id: str, *, amount_cents: int, idempotency_key: str) -> str:
        """Refunds (part of) a charge; returns the refund id."""


class LocalTestProvider(PaymentProvider):
    def __init__(self):
        self._lock = threading.Lock()
        self.charges: dict[str, Charge] = {}  # by idempotency key
        self.refunds: dict[str, tuple[str, int]] = {}  # idempotency key -> (charge id, cents)

    def charge(self, *, amount_cents: int, card_number: str, idempotency_key: str, description: str) -> Charge:
        card = "".join(ch for ch in card_number if ch.isdigit())
        with self._lock:
            if idempotency_key in self.charges:
                return self.charges[idempotency_key]
            if card == TRANSIENT:
                raise ProviderUnavailable("the card processor did not answer; nothing was charged. Retry the same "
                                          "request (same Idempotency-Key)")
            if card == DECLINED:
                raise CardDeclined("the card was declined; nothing was charged",
                                   errors=[FieldError("card_number", "declined by the card processor")])
            if card != SUCCEEDS:
                raise CardDeclined("the card was declined: this is a test system, use a test card "
                                   f"({SUCCEEDS} succeeds)",
                                   errors=[FieldError("card_number", f"use a test card, e.g. {SUCCEEDS}")])
            charge = Charge(f"ch_{uuid.uuid4().hex[:24]}", amount_cents, idempotency_key, description)
            self.charges[idempotency_key] = charge
            return charge

    def refund(self, charge_id: str, *, amount_cents: int, idempotency_key: str) -> str:
        with self._lock:
            if idempotency_key not in self.refunds:
                self.refunds[idempotency_key] = (charge_id, amount_cents)
            return f"re_{idempotency_key[-24:]}"
