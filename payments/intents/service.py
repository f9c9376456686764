"""createPaymentIntent and confirmPayment: a payment the customer confirms, then its outcome."""

from dataclasses import asdict
from typing import Any

from models.enums import Operation, PaymentFlow, PaymentMethodType, PendingOperation
from models.idempotency import IdempotencyKey
from models.payment import Payment
from payments.bank_transfers.service import PrepareColumns, check_transfer, customer_balance
from payments.charges.service import KeyedColumns, create_once, intent_call
from payments.gateways.base import ChargeResult
from payments.idempotency.keys import check_key
from payments.intents.approval import confirm_at_gateway
from payments.intents.rules import ConfirmInput, IntentInput, validate_confirm, validate_intent
from payments.lifecycle.state_machine import confirmable
from payments.payment_calls.service import PaymentCall, run_call
from payments.service_config import ServiceConfig
from payments.shared.auth import Principal, Scope
from payments.shared.errors import (
    PaymentMethodTypeUnsupported,
    PaymentNotConfirmable,
    ValidationFailed,
)

_URLS = frozenset({"return_url", "cancel_url"})


async def create_intent(
    principal: Principal, intent_input: IntentInput, idempotency_key: str, config: ServiceConfig
) -> Payment:
    """Create the gateway's unconfirmed PaymentIntent once per key: REQUIRES_PAYMENT_METHOD.

    The payment's client_secret is what the frontend confirms with. A BANK_TRANSFER is
    confirmed at once: REQUIRES_ACTION with the instructions the customer pays by; it
    needs the customer (CUSTOMER_NOT_FOUND) and a rail for its currency
    (PAYMENT_METHOD_TYPE_UNSUPPORTED, before anything is written). Raises PaymentErrors
    for invalid input, IdempotencyKeyReused / InUse, or GatewayUnavailable (retry to resume).
    """
    principal.require(Scope.WRITE)
    check_key(idempotency_key)
    owner = intent_input.customer_id if principal.is_admin else principal.sub
    intent_input = validate_intent(
        IntentInput(**{**asdict(intent_input), "customer_id": owner or principal.sub}),
        config.limits,
    )
    gateway = config.gateway_for(intent_input.payment_method_type)
    if not gateway.accepts(intent_input.currency, intent_input.capture_method):
        # Refused before anything is written here or at the provider.
        raise PaymentMethodTypeUnsupported(
            f"{intent_input.payment_method_type.value} does not take {intent_input.currency}"
            f" with {intent_input.capture_method.value} capture."
        )
    columns = {**asdict(intent_input), "flow": PaymentFlow.INTENT, "payment_method_id": ""}
    prepare: PrepareColumns = _without_urls
    if intent_input.payment_method_type is PaymentMethodType.BANK_TRANSFER:
        check_transfer(intent_input.currency, intent_input.capture_method)
        prepare = _with_balance(customer_balance(config))
    call = intent_call(gateway, intent_input.return_url, intent_input.cancel_url)
    request = KeyedColumns(Operation.CREATE_INTENT, idempotency_key, columns, gateway.name)
    return await create_once(principal, request, call, config, prepare)


async def _without_urls(key: IdempotencyKey, columns: dict[str, Any]) -> dict[str, Any]:
    # Fingerprinted, so a retry must repeat them, but only the provider keeps them.
    return {name: value for name, value in columns.items() if name not in _URLS}


def _with_balance(balance: PrepareColumns) -> PrepareColumns:
    async def prepare(key: IdempotencyKey, columns: dict[str, Any]) -> dict[str, Any]:
        return await balance(key, await _without_urls(key, columns))

    return prepare


async def confirm(
    principal: Principal, confirm_input: ConfirmInput, idempotency_key: str, config: ServiceConfig
) -> Payment:
    """Confirm a REQUIRES_PAYMENT_METHOD payment with a method, as Stripe.js would.

    A decline leaves it REQUIRES_PAYMENT_METHOD with failureCode. Raises NotFound,
    PaymentNotConfirmable (stored on the key), the key's errors or GatewayUnavailable.
    """
    validate_confirm(confirm_input)
    return await run_call(
        principal,
        confirm_input.payment_id,
        asdict(confirm_input),
        idempotency_key,
        _confirmation(confirm_input, config),
        config,
    )


def _confirmation(confirm_input: ConfirmInput, config: ServiceConfig) -> PaymentCall:
    def reserve(payment: Payment) -> list[str]:
        if payment.status not in confirmable(payment.payment_method_type):
            raise PaymentNotConfirmable(
                f"A {payment.status.value} payment cannot be confirmed.", field="paymentId"
            )
        if confirm_input.payment_method_id is not None:
            payment.payment_method_id = confirm_input.payment_method_id
        elif payment.payment_method_type is PaymentMethodType.CARD:
            raise ValidationFailed(
                "paymentMethodId is required to confirm a card payment.", field="paymentMethodId"
            )
        # Each attempt has its own gateway key: a retry after a decline is a new attempt.
        payment.confirmation_attempts += 1
        return ["payment_method_id", "confirmation_attempts"]

    async def call(payment: Payment) -> ChargeResult:
        return await confirm_at_gateway(payment, config, confirm_input.return_url)

    return PaymentCall(
        Operation.CONFIRM,
        PendingOperation.CONFIRM,
        reserve,
        call,
        refused=PaymentNotConfirmable,
        # The worker capturing on CHECKOUT.ORDER.APPROVED: PayPal answers both the same.
        joins=lambda payment: payment.payment_method_type is PaymentMethodType.PAYPAL,
    )
