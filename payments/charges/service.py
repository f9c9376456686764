"""chargePayment: claim the key, create the payment, call the gateway, commit the outcome."""

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.enums import (
    CaptureMethod,
    EventSource,
    Operation,
    PaymentFlow,
    PaymentMethodType,
    PaymentStatus,
)
from models.idempotency import IdempotencyKey
from models.payment import Payment
from payments.bank_transfers.service import check_transfer, customer_balance
from payments.charges.rules import ChargeInput, validate_charge
from payments.customers.charging import charge_target
from payments.gateways.base import ChargeRequest, ChargeResult, Gateway, IntentRequest
from payments.idempotency.keyed_call import KeyClaim, KeyedCall, run_keyed, status_metric
from payments.idempotency.keys import (
    check_key,
    complete_key,
    completion_values,
    fingerprint,
)
from payments.lifecycle.answer_fields import outcome_fields
from payments.lifecycle.repository import KeyColumns, create_payment
from payments.lifecycle.transitions import Change, apply_change, lock_payment, move_if_unchanged
from payments.service_config import ServiceConfig
from payments.shared import metrics
from payments.shared.auth import Principal, Scope
from payments.shared.correlation import bind_payment_id
from payments.shared.errors import PaymentMethodTypeUnsupported, ValidationFailed
from payments.shared.rows import select_one

# Builds the gateway call of a new payment, given the payment as committed (PENDING).
GatewayCall = Callable[[Payment], Awaitable[ChargeResult]]
# Completes a new payment's columns once its key is owned (errors are stored on the key).
PrepareColumns = Callable[[IdempotencyKey, dict[str, Any]], Awaitable[dict[str, Any]]]


async def charge(
    principal: Principal, charge_input: ChargeInput, idempotency_key: str, config: ServiceConfig
) -> Payment:
    """Charge once per idempotency key, however often and concurrently the client retries.

    Returns the payment (a declined card is a FAILED payment, not an error). Raises
    PaymentErrors for invalid input (nothing written), IdempotencyKeyReused,
    IdempotencyKeyInUse, or GatewayUnavailable (retry with the same key to resume).
    """
    principal.require(Scope.WRITE)
    check_key(idempotency_key)
    if charge_input.payment_method_type is PaymentMethodType.PAYPAL:
        # PayPal needs the buyer's approval first: createPaymentIntent.
        raise PaymentMethodTypeUnsupported(
            f"chargePayment takes no {charge_input.payment_method_type.value} payments."
        )
    owner = charge_input.customer_id if principal.is_admin else principal.sub
    charge_input = validate_charge(
        ChargeInput(**{**asdict(charge_input), "customer_id": owner or principal.sub}),
        config.limits,
    )
    if charge_input.payment_method_type is PaymentMethodType.BANK_TRANSFER:
        return await _open_transfer(principal, charge_input, idempotency_key, config)
    started = time.perf_counter()
    payment = await create_once(
        principal,
        KeyedColumns(Operation.CHARGE, idempotency_key, asdict(charge_input)),
        _gateway_call(config),
        config,
        _with_target,
    )
    metrics.CHARGE_DURATION.observe(time.perf_counter() - started)
    metrics.PAYMENT_AMOUNT.labels(payment.currency).observe(payment.amount)
    return payment


async def _open_transfer(
    principal: Principal, charge_input: ChargeInput, idempotency_key: str, config: ServiceConfig
) -> Payment:
    """A bank transfer asked of chargePayment: opened as createPaymentIntent opens one."""
    if charge_input.payment_method_id is not None:
        raise ValidationFailed(
            "A bank transfer is paid from the customer's bank: no paymentMethodId.",
            field="paymentMethodId",
        )
    check_transfer(charge_input.currency, charge_input.capture_method)
    gateway = config.gateway_for(PaymentMethodType.BANK_TRANSFER)
    columns = {**asdict(charge_input), "flow": PaymentFlow.INTENT, "payment_method_id": ""}
    request = KeyedColumns(Operation.CHARGE, idempotency_key, columns, gateway.name)
    return await create_once(
        principal, request, intent_call(gateway), config, customer_balance(config)
    )


def intent_call(
    gateway: Gateway, return_url: str | None = None, cancel_url: str | None = None
) -> GatewayCall:
    """The gateway call opening a payment the customer completes (an intent)."""

    async def call(payment: Payment) -> ChargeResult:
        return await gateway.create_intent(
            IntentRequest(
                payment_id=payment.id,
                amount=payment.amount,
                currency=payment.currency,
                customer_id=payment.customer_id,
                description=payment.description,
                capture_method=payment.capture_method,
                idempotency_key=f"intent-{payment.id}",
                payment_method_type=payment.payment_method_type,
                return_url=return_url,
                cancel_url=cancel_url,
                provider_customer_id=payment.provider_customer_id,
            )
        )

    return call


async def _with_target(key: IdempotencyKey, columns: dict[str, Any]) -> dict[str, Any]:
    # The method the charge sends: the customer's default, a saved one, or the id as given.
    target = await charge_target(key, columns["customer_id"], columns["payment_method_id"])
    return {
        **columns,
        "payment_method_id": target.payment_method_id,
        "provider_customer_id": target.provider_customer_id,
    }


def _gateway_call(config: ServiceConfig) -> GatewayCall:
    async def call(payment: Payment) -> ChargeResult:
        return await config.gateway.charge(
            ChargeRequest(
                payment_id=payment.id,
                amount=payment.amount,
                currency=payment.currency,
                payment_method_id=payment.payment_method_id,
                customer_id=payment.customer_id,
                description=payment.description,
                idempotency_key=f"charge-{payment.id}",
                capture_method=payment.capture_method,
                provider_customer_id=payment.provider_customer_id,
            )
        )

    return call


@dataclass(frozen=True)
class KeyedColumns:
    """A new payment's operation, the client's key and the columns fingerprinted for it."""

    operation: Operation
    idempotency_key: str
    columns: dict[str, Any]
    # The gateway the payment goes to; None: the card gateway.
    gateway: str | None = None


async def create_once(
    principal: Principal,
    request: KeyedColumns,
    call: GatewayCall,
    config: ServiceConfig,
    prepare: PrepareColumns | None = None,
) -> Payment:
    """Create the PENDING payment and make its gateway call once per key; its answer commits.

    A payment settled meanwhile (by a webhook or the reconciler) is never sent to the
    gateway again. `prepare` turns the fingerprinted columns into the stored ones, once
    the key is owned.
    """
    claim = KeyClaim(
        principal.sub,
        request.operation,
        request.idempotency_key,
        _fingerprint(request.columns),
        config.keys,
    )

    async def hold(key: IdempotencyKey) -> Payment:
        payment = await _payment_for(key, request, config, prepare)
        bind_payment_id(payment.id)
        return payment

    steps = KeyedCall(
        replay=_replay,
        hold=hold,
        call=call,
        commit=_commit,
        settled=lambda payment: payment.status is not PaymentStatus.PENDING,
        metric=status_metric(config.gateway.name, "charge"),
    )
    return await run_keyed(claim, steps)


# Defaults left out of fingerprints, so keys stored before these inputs existed still match.
_UNFINGERPRINTED_DEFAULTS: dict[str, Any] = {
    "capture_method": CaptureMethod.AUTOMATIC,
    "payment_method_type": PaymentMethodType.CARD,
    "return_url": None,
    "cancel_url": None,
}


def _fingerprint(columns: dict[str, Any]) -> str:
    return fingerprint(
        {
            name: value
            for name, value in columns.items()
            if name not in _UNFINGERPRINTED_DEFAULTS or value != _UNFINGERPRINTED_DEFAULTS[name]
        }
    )


async def _replay(key: IdempotencyKey) -> Payment:
    payment = await select_one(Payment, id=key.resource_id)
    assert payment is not None  # a completed key names its payment; payments are never deleted
    return payment


async def _payment_for(
    key: IdempotencyKey,
    request: KeyedColumns,
    config: ServiceConfig,
    prepare: PrepareColumns | None,
) -> Payment:
    """The key's payment: created now with the key, or the one a crashed request left."""
    if key.resource_id is not None:
        return await Payment.get(id=key.resource_id)
    columns = request.columns
    if prepare is not None:
        columns = await prepare(key, columns)
    gateway = request.gateway or config.gateway.name
    payment = await create_payment(
        {**columns, "status": PaymentStatus.PENDING, "gateway": gateway},
        KeyColumns(key, {}),
    )
    key.resource_id = payment.id
    return payment


async def _commit(key: IdempotencyKey, payment: Payment, result: ChargeResult | None) -> Payment:
    if result is not None:
        return await _commit_outcome(payment, result, key)
    async with in_transaction() as connection:
        await complete_key(key, connection, resource_id=payment.id)
    return payment


async def _commit_outcome(payment: Payment, result: ChargeResult, key: IdempotencyKey) -> Payment:
    change = Change(result.status, EventSource.API, outcome_fields(result))
    # Usually nothing touched the new payment during the call: one fenced statement, which
    # completes the key too.
    completion = KeyColumns(key, completion_values())
    moved = await move_if_unchanged(payment, change, Payment._meta.db, completion)
    if moved is not None:
        return moved
    async with in_transaction() as connection:
        moved = await _commit_locked(payment.id, result, change, connection)
        await complete_key(key, connection, resource_id=moved.id)
    return moved


async def _commit_locked(
    payment_id: str, result: ChargeResult, change: Change, connection: BaseDBAsyncClient
) -> Payment:
    payment = await lock_payment(payment_id, connection)
    assert payment is not None
    applied = await apply_change(payment, change, connection)
    if not applied and payment.provider_payment_id is None:
        # A webhook (found via metadata.payment_id) moved it first; keep the gateway id.
        payment.provider_payment_id = result.provider_payment_id
        await payment.save(using_db=connection, update_fields=["provider_payment_id"])
    return payment
