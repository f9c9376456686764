"""The simulated gateway's customers: Stripe's test payment methods become saved cards.

A saved method's id names its test id and a digest of its customer
(`pm_sim<digest>_pm_card_visa`), so any process charges it as that test id does and
knows whose it is without shared state; detachments are remembered in this process.
"""

import hashlib
import re
from dataclasses import dataclass, field

from payments.gateways.base import ChargeRequest, SavedMethod
from payments.shared.errors import PaymentMethodNotFound

# Brand and last4 of the cards behind Stripe's test ids (docs.stripe.com/testing).
_TEST_CARDS = {
    "pm_card_visa": ("visa", "4242"),
    "pm_card_mastercard": ("mastercard", "4444"),
    "pm_card_chargeDeclined": ("visa", "0002"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995"),
    "pm_card_authenticationRequired": ("visa", "3184"),
}
# Any other pm_card_* charges like pm_card_visa, so it is saved as that card.
_OTHER_CARD = ("visa", "4242")
_SAVED = re.compile(r"pm_sim[0-9a-f]{24}_(pm_card_\w+)")
# Stripe's test cards take any future expiry; a fixed one keeps the gateway deterministic.
_EXPIRY = (12, 2034)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _saved_id(provider_customer_id: str, test_id: str) -> str:
    return f"pm_sim{_digest(f'{provider_customer_id}:{test_id}')}_{test_id}"


def _test_id(payment_method_id: str) -> str | None:
    """The test id a method charges as: itself, or the one a saved id names."""
    saved = _SAVED.fullmatch(payment_method_id)
    test_id = saved.group(1) if saved else payment_method_id
    return test_id if test_id.startswith("pm_card_") else None


@dataclass
class SimulatedCustomers:
    """Customers, attachments, defaults and SetupIntents, deterministic by key."""

    detached: set[str] = field(default_factory=set)
    # provider customer id -> its default saved method, as invoice_settings would hold it.
    defaults: dict[str, str | None] = field(default_factory=dict)

    async def create_customer(self, customer_id: str, idempotency_key: str) -> str:
        return f"cus_sim{_digest(idempotency_key)}"

    async def attach_payment_method(
        self, provider_customer_id: str, payment_method_id: str, idempotency_key: str
    ) -> SavedMethod:
        """Save a test id for the customer (again: the same method); others are not found."""
        test_id = _test_id(payment_method_id)
        if test_id is None:
            raise PaymentMethodNotFound()
        saved_id = _saved_id(provider_customer_id, test_id)
        if payment_method_id != test_id and (
            payment_method_id != saved_id or saved_id in self.detached
        ):
            # Another customer's method, or one detached for good (as on Stripe).
            raise PaymentMethodNotFound()
        self.detached.discard(saved_id)
        brand, last4 = _TEST_CARDS.get(test_id, _OTHER_CARD)
        return SavedMethod(saved_id, "card", brand, last4, *_EXPIRY)

    async def detach_payment_method(self, provider_payment_method_id: str) -> None:
        self.detached.add(provider_payment_method_id)

    async def set_default_payment_method(
        self, provider_customer_id: str, provider_payment_method_id: str | None
    ) -> None:
        self.defaults[provider_customer_id] = provider_payment_method_id

    async def create_setup_intent(self, provider_customer_id: str, idempotency_key: str) -> str:
        setup_intent_id = f"seti_sim{_digest(idempotency_key)}"
        return f"{setup_intent_id}_secret_{_digest(setup_intent_id)}"

    def charged_as(self, request: ChargeRequest) -> str:
        """The test id a charge behaves as; a saved method not usable here is not found."""
        method = request.payment_method_id
        saved = _SAVED.fullmatch(method)
        if saved is None:
            return method
        owned = method == _saved_id(request.provider_customer_id or "", saved.group(1))
        return saved.group(1) if owned and method not in self.detached else method
