"""A new bank transfer's needs (a rail for its currency, the customer's balance); its test bank."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from models.enums import CaptureMethod, PaymentMethodType, PaymentStatus
from models.idempotency import IdempotencyKey
from models.ids import ID_LENGTH
from models.payment import Payment
from payments.customers.accounts import existing_customer, with_gateway_customer
from payments.gateways.base import FundingRequest
from payments.idempotency.keys import store_error
from payments.service_config import ServiceConfig
from payments.shared.auth import Principal, Scope
from payments.shared.errors import (
    Forbidden,
    InvalidAmount,
    NotFound,
    PaymentMethodTypeUnsupported,
    PaymentNotFundable,
    PaymentsError,
)
from payments.shared.input_rules import could_be_id
from payments.shared.rows import select_one

# The currencies a bank-transfer rail exists for (Stripe's eu, gb, us, jp and mx transfers).
TRANSFER_CURRENCIES = frozenset({"EUR", "GBP", "USD", "JPY", "MXN"})


@dataclass(frozen=True)
class FundingInput:
    payment_id: str
    amount: int


def check_transfer(currency: str, capture_method: CaptureMethod) -> None:
    """PaymentMethodTypeUnsupported for a transfer no rail takes; checked before any write."""
    if currency.upper() not in TRANSFER_CURRENCIES:
        raise PaymentMethodTypeUnsupported(f"Bank transfers are not offered in {currency.upper()}.")
    if capture_method is CaptureMethod.MANUAL:
        # Money sent by bank cannot be held and released: it simply arrives.
        raise PaymentMethodTypeUnsupported("A bank transfer cannot be captured manually.")


# Completes a new payment's columns once its key is owned (as charges.service takes it).
PrepareColumns = Callable[[IdempotencyKey, dict[str, Any]], Awaitable[dict[str, Any]]]


def customer_balance(config: ServiceConfig) -> PrepareColumns:
    """Completes a new transfer's columns with the provider's customer whose balance it funds.

    CustomerNotFound (stored on the key, so a retry gets it too) when the payment's
    customer does not exist; the provider's twin is made if a crash left none.
    """

    async def prepare(key: IdempotencyKey, columns: dict[str, Any]) -> dict[str, Any]:
        try:
            customer = await with_gateway_customer(
                await existing_customer(columns["customer_id"]), config
            )
        except PaymentsError as error:
            await store_error(key, error)
        return {**columns, "provider_customer_id": customer.provider_customer_id}

    return prepare


async def fund(principal: Principal, funding: FundingInput, config: ServiceConfig) -> Payment:
    """Play the customer's bank: send `amount` to a waiting transfer, in test mode only.

    The payment changes when the provider reports the money (its partially_funded and
    succeeded events), as it would for a real transfer; it is returned as it is now.
    Raises Forbidden (not an admin, or no test bank: live mode), NotFound,
    PaymentNotFundable (not a waiting transfer), InvalidAmount (beyond what remains) or
    GatewayUnavailable; nothing moves on any of them.
    """
    principal.require(Scope.WRITE, Scope.ADMIN)
    gateway = config.bank_transfer
    if gateway is None or not gateway.test_mode:
        raise Forbidden("Bank transfers are funded by a test bank only in test mode.")
    payment = await _waiting_transfer(funding.payment_id)
    remaining = payment.amount - payment.amount_received
    if not 0 < funding.amount <= remaining:
        raise InvalidAmount(f"The amount must be from 1 to {remaining}.", field="amount")
    await gateway.fund_bank_transfer(
        FundingRequest(
            payment_id=payment.id,
            provider_payment_id=payment.provider_payment_id or "",
            provider_customer_id=payment.provider_customer_id,
            amount=funding.amount,
            currency=payment.currency,
            reference=payment.next_action["bank_transfer"]["reference"],
            payment_amount=payment.amount,
            amount_received=payment.amount_received,
        )
    )
    return await Payment.get(id=payment.id)


async def _waiting_transfer(payment_id: str) -> Payment:
    found = await select_one(Payment, id=payment_id) if could_be_id(payment_id, ID_LENGTH) else None
    if found is None:
        raise NotFound("Payment", field="paymentId")
    instructions = (found.next_action or {}).get("bank_transfer")
    waiting = found.status is PaymentStatus.REQUIRES_ACTION and instructions
    if found.payment_method_type is not PaymentMethodType.BANK_TRANSFER or not waiting:
        raise PaymentNotFundable(
            f"A {found.status.value} payment takes no bank transfer.", field="paymentId"
        )
    return found
