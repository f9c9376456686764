"""One gateway call on an existing payment: reserve under its row lock, call, commit the answer.

Like a refund: the reservation (the payment's `pending_operation`, and for a capture its
`amount_capture_pending`) is committed before the gateway is called, so concurrent calls on
one payment cannot both reach the gateway, and a crashed request is resumed by its key.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.enums import EventSource, Operation, PendingOperation
from models.idempotency import IdempotencyKey
from models.payment import Payment
from payments.gateways.base import ChargeResult
from payments.idempotency.keyed_call import KeyClaim, KeyedCall, run_keyed, status_metric
from payments.idempotency.keys import (
    check_key,
    complete_key,
    fingerprint,
    reserve_for_key,
)
from payments.lifecycle.answer_fields import outcome_fields
from payments.lifecycle.transitions import Change, apply_change, lock_payment
from payments.service_config import ServiceConfig
from payments.shared.auth import Principal, Scope
from payments.shared.correlation import bind_payment_id
from payments.shared.errors import NotFound, PaymentsError

# A reservation's columns, cleared whatever the gateway answers.
_RELEASED = {"pending_operation": None, "amount_capture_pending": 0}


@dataclass(frozen=True)
class PaymentCall:
    """What one kind of call checks and reserves, and how it asks the gateway."""

    operation: Operation
    pending: PendingOperation
    # Raises the business error (stored on the key) or sets the reserved columns.
    reserve: Callable[[Payment], list[str]]
    call: Callable[[Payment], Awaitable[ChargeResult]]
    # The call's "not possible now" error (e.g. PaymentNotCapturable): also its answer while
    # another call holds the payment, and, with `also_refused`, a gateway refusal.
    refused: type[PaymentsError]
    also_refused: tuple[type[PaymentsError], ...] = ()
    # Whether this call may join the same reservation held by another path (whose gateway
    # call carries the same provider request id, so both get one answer): a PayPal approval.
    joins: Callable[[Payment], bool] = lambda payment: False


async def run_call(
    principal: Principal,
    payment_id: str,
    request: dict[str, Any],
    idempotency_key: str,
    call: PaymentCall,
    config: ServiceConfig,
) -> Payment:
    """Make `call` on the payment once per key; replay, reuse and resume as a charge does.

    Raises NotFound and the call's business errors (stored on the key and replayed),
    IdempotencyKeyReused / InUse, or GatewayUnavailable (the reservation stays; retry
    with the same key to resume with the same gateway key).
    """
    principal.require(Scope.WRITE)
    check_key(idempotency_key)
    bind_payment_id(payment_id)
    claim = KeyClaim(
        principal.sub, call.operation, idempotency_key, fingerprint(request), config.keys
    )
    steps = KeyedCall(
        replay=_replay,
        hold=lambda key: _reserved(principal, payment_id, key, call),
        call=call.call,
        commit=_commit,
        # Settled meanwhile by a webhook: never call the gateway again.
        settled=lambda payment: payment.pending_operation is not call.pending,
        refusals=(call.refused, *call.also_refused),
        refuse=_refused,
        metric=status_metric(config.gateway.name, call.operation.value),
    )
    return await run_keyed(claim, steps)


async def _replay(key: IdempotencyKey) -> Payment:
    return await Payment.get(id=key.resource_id)


async def _reserved(
    principal: Principal, payment_id: str, key: IdempotencyKey, call: PaymentCall
) -> Payment:
    """The key's payment: reserved now under its row lock, or the one a crash left reserved."""
    if key.resource_id is not None:
        return await Payment.get(id=key.resource_id)
    return await reserve_for_key(
        key,
        lambda connection: _reserve(principal, payment_id, call, connection),
        lambda payment: payment.id,
        (PaymentsError,),
    )


async def _reserve(
    principal: Principal, payment_id: str, call: PaymentCall, connection: BaseDBAsyncClient
) -> Payment:
    # The row lock serialises calls on one payment: only one reservation can be held.
    payment = await lock_payment(payment_id, connection)
    if payment is None or not principal.may_see(payment.customer_id):
        raise NotFound("Payment", field="paymentId")
    if payment.pending_operation is not None and not (
        payment.pending_operation is call.pending and call.joins(payment)
    ):
        raise call.refused("Another call on this payment is under way.", field="paymentId")
    reserved = call.reserve(payment)
    payment.pending_operation = call.pending
    await payment.save(
        using_db=connection, update_fields=[*reserved, "pending_operation", "updated_at"]
    )
    return payment


async def _refused(key: IdempotencyKey, payment: Payment, error: PaymentsError) -> None:
    # The gateway disagrees with our books: free the reservation, report it.
    await _settle(payment.id, None, key, error)


async def _commit(key: IdempotencyKey, payment: Payment, result: ChargeResult | None) -> Payment:
    return await _settle(payment.id, result, key)


async def _settle(
    payment_id: str,
    result: ChargeResult | None,
    key: IdempotencyKey,
    error: PaymentsError | None = None,
) -> Payment:
    """Apply the gateway's answer (if any), release the reservation and complete the key."""
    async with in_transaction() as connection:
        payment = await lock_payment(payment_id, connection)
        assert payment is not None
        if result is not None:
            fields = {**outcome_fields(result), **_RELEASED}
            await apply_change(payment, Change(result.status, EventSource.API, fields), connection)
        if payment.pending_operation is not None or payment.amount_capture_pending:
            for name, value in _RELEASED.items():
                setattr(payment, name, value)
            await payment.save(using_db=connection, update_fields=[*_RELEASED, "updated_at"])
        await complete_key(key, connection, resource_id=payment.id, error=error)
    return payment
