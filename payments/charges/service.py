"""chargePayment: claim the key, create the payment, call the gateway, commit the outcome."""

import time
from dataclasses import asdict
from typing import Any

from tortoise.transactions import in_transaction

from models.enums import EventSource, Operation, PaymentStatus
from models.idempotency import IdempotencyKey
from models.payment import Payment
from payments.charges.rules import ChargeInput, validate_charge
from payments.customers.charging import charge_target
from payments.gateways.base import ChargeRequest, ChargeResult
from payments.idempotency.keys import (
    check_key,
    claim_key,
    complete_key,
    fingerprint,
    raise_stored_error,
    release_key,
)
from payments.lifecycle.transitions import Change, apply_change, lock_payment, record_creation
from payments.service_config import ServiceConfig
from payments.shared import metrics
from payments.shared.auth import Principal, Scope
from payments.shared.correlation import bind_payment_id
from payments.shared.errors import GatewayUnavailable
from payments.shared.rows import select_one


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
    owner = charge_input.customer_id if principal.is_admin else principal.sub
    charge_input = validate_charge(
        ChargeInput(**{**asdict(charge_input), "customer_id": owner or principal.sub}),
        config.limits,
    )
    started = time.perf_counter()
    key = await claim_key(
        principal.sub, Operation.CHARGE, idempotency_key, _fingerprint(charge_input), config.keys
    )
    if key.completed_at is not None:
        return await _replay(key)
    payment = await _payment_for(key, charge_input, config)
    bind_payment_id(payment.id)
    if payment.status is not PaymentStatus.PENDING:
        # Settled meanwhile by a webhook or the reconciler: never call the gateway again.
        return await _complete_settled(payment, key)
    result = await _call_gateway(payment, key, config)
    payment = await _commit_outcome(payment.id, result, key)
    metrics.CHARGE_DURATION.observe(time.perf_counter() - started)
    metrics.PAYMENT_AMOUNT.labels(payment.currency).observe(payment.amount)
    return payment


async def _complete_settled(payment: Payment, key: IdempotencyKey) -> Payment:
    async with in_transaction() as connection:
        await complete_key(key, connection, resource_id=payment.id)
    return payment


def _fingerprint(charge_input: ChargeInput) -> str:
    return fingerprint(asdict(charge_input))


async def _replay(key: IdempotencyKey) -> Payment:
    raise_stored_error(key)
    payment = await select_one(Payment, id=key.resource_id)
    assert payment is not None  # a completed key names its payment; payments are never deleted
    return payment


async def _payment_for(
    key: IdempotencyKey, charge_input: ChargeInput, config: ServiceConfig
) -> Payment:
    """The key's payment: created now with the key, or the one a crashed request left."""
    if key.resource_id is not None:
        return await Payment.get(id=key.resource_id)
    target = await charge_target(key, charge_input.customer_id, charge_input.payment_method_id)
    async with in_transaction() as connection:
        payment = await Payment.create(
            customer_id=charge_input.customer_id,
            order_id=charge_input.order_id,
            amount=charge_input.amount,
            currency=charge_input.currency,
            status=PaymentStatus.PENDING,
            payment_method_id=target.payment_method_id,
            provider_customer_id=target.provider_customer_id,
            description=charge_input.description,
            metadata=charge_input.metadata,
            gateway=config.gateway.name,
            using_db=connection,
        )
        await record_creation(payment, connection)
        key.resource_id = payment.id
        await key.save(using_db=connection, update_fields=["resource_id"])
    return payment


async def _call_gateway(
    payment: Payment, key: IdempotencyKey, config: ServiceConfig
) -> ChargeResult:
    # No transaction or lock is held here: a slow gateway must not pin database rows.
    request = ChargeRequest(
        payment_id=payment.id,
        amount=payment.amount,
        currency=payment.currency,
        payment_method_id=payment.payment_method_id,
        customer_id=payment.customer_id,
        description=payment.description,
        idempotency_key=f"charge-{payment.id}",
        provider_customer_id=payment.provider_customer_id,
    )
    started = time.perf_counter()
    try:
        result = await config.gateway.charge(request)
    except GatewayUnavailable:
        metrics.observe_gateway_call(config.gateway.name, "charge", "unavailable", started)
        await release_key(key)
        raise
    outcome = result.status.value.lower()
    metrics.observe_gateway_call(config.gateway.name, "charge", outcome, started)
    return result


async def _commit_outcome(payment_id: str, result: ChargeResult, key: IdempotencyKey) -> Payment:
    async with in_transaction() as connection:
        payment = await lock_payment(payment_id, connection)
        assert payment is not None
        change = Change(result.status, EventSource.API, outcome_fields(result))
        applied = await apply_change(payment, change, connection)
        if not applied and payment.provider_payment_id is None:
            # A webhook (found via metadata.payment_id) moved it first; keep the gateway id.
            payment.provider_payment_id = result.provider_payment_id
            await payment.save(using_db=connection, update_fields=["provider_payment_id"])
        await complete_key(key, connection, resource_id=payment.id)
    return payment


def outcome_fields(result: ChargeResult) -> dict[str, Any]:
    return {
        # A request Stripe refused outright created no PaymentIntent: no id, not "".
        "provider_payment_id": result.provider_payment_id or None,
        "failure_code": result.failure_code,
        "failure_message": result.failure_message,
        "client_secret": result.client_secret,
        "card_brand": result.card_brand,
        "card_last4": result.card_last4,
    }
