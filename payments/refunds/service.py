"""refundPayment: reserve under a row lock, call the gateway, commit the outcome."""

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.enums import EventSource, Operation, RefundStatus
from models.idempotency import IdempotencyKey
from models.payment import Payment, Refund
from payments.gateways.base import RefundRequest, RefundResult
from payments.idempotency.keyed_call import KeyClaim, KeyedCall, run_keyed, status_metric
from payments.idempotency.keys import (
    check_key,
    complete_key,
    fingerprint,
    reserve_for_key,
)
from payments.lifecycle.state_machine import REFUNDABLE, status_after_refunds
from payments.lifecycle.transitions import Change, apply_change, lock_payment
from payments.refunds.rules import RefundInput, validate_refund
from payments.service_config import ServiceConfig
from payments.shared import metrics
from payments.shared.auth import Principal, Scope
from payments.shared.correlation import bind_payment_id
from payments.shared.errors import (
    NotFound,
    PaymentNotRefundable,
    PaymentsError,
    RefundExceedsAvailable,
)


async def refund(
    principal: Principal, refund_input: RefundInput, idempotency_key: str, config: ServiceConfig
) -> tuple[Refund, Payment]:
    """Refund part or all of a payment, never past what was captured, once per key.

    Raises PaymentNotRefundable, RefundExceedsAvailable, NotFound (stored on the key
    and replayed), IdempotencyKeyReused / InUse, or GatewayUnavailable (the amount
    stays reserved; retry with the same key to resume).
    """
    principal.require(Scope.REFUND)
    check_key(idempotency_key)
    validate_refund(refund_input)
    bind_payment_id(refund_input.payment_id)
    claim = KeyClaim(
        principal.sub, Operation.REFUND, idempotency_key, _fingerprint(refund_input), config.keys
    )
    steps = KeyedCall(
        replay=_replay,
        hold=lambda key: _reserved_refund(principal, refund_input, key),
        call=lambda refund_row: _call_gateway(refund_row, config),
        commit=_commit,
        # Settled meanwhile by a webhook or the reconciler: never call the gateway again.
        settled=lambda refund_row: refund_row.status is not RefundStatus.PENDING,
        refusals=(RefundExceedsAvailable,),
        refuse=_refused,
        metric=status_metric(config.gateway.name, "refund"),
    )
    return await run_keyed(claim, steps)


def _fingerprint(refund_input: RefundInput) -> str:
    return fingerprint(
        {
            "payment_id": refund_input.payment_id,
            "amount": refund_input.amount,
            "reason": refund_input.reason,
        }
    )


async def _replay(key: IdempotencyKey) -> tuple[Refund, Payment]:
    refund_row = await Refund.get(id=key.resource_id)
    return refund_row, await Payment.get(id=refund_row.payment_id)


async def _reserved_refund(
    principal: Principal, refund_input: RefundInput, key: IdempotencyKey
) -> Refund:
    """The key's refund: reserved now under the payment's row lock, or the one left by a crash."""
    if key.resource_id is not None:
        return await Refund.get(id=key.resource_id)
    return await reserve_for_key(
        key,
        lambda connection: _reserve(principal, refund_input, connection),
        lambda refund_row: refund_row.id,
        (NotFound, PaymentNotRefundable, RefundExceedsAvailable),
    )


async def _reserve(
    principal: Principal, refund_input: RefundInput, connection: BaseDBAsyncClient
) -> Refund:
    # The row lock serialises concurrent refunds of one payment, so reservations never
    # add up past the captured amount (the database CHECK is the second line).
    payment = await lock_payment(refund_input.payment_id, connection)
    if payment is None or not principal.may_see(payment.customer_id):
        raise NotFound("Payment", field="paymentId")
    if payment.status not in REFUNDABLE or payment.disputed_at is not None:
        raise PaymentNotRefundable(
            f"A {payment.status.value} payment cannot be refunded.", field="paymentId"
        )
    available = payment.amount_refundable
    amount = refund_input.amount if refund_input.amount is not None else available
    if amount > available or amount <= 0:
        raise RefundExceedsAvailable(amount, available)
    payment.amount_refund_pending += amount
    await payment.save(using_db=connection, update_fields=["amount_refund_pending", "updated_at"])
    return await Refund.create(
        payment_id=payment.id,
        amount=amount,
        status=RefundStatus.PENDING,
        reason=refund_input.reason,
        using_db=connection,
    )


async def _call_gateway(refund_row: Refund, config: ServiceConfig) -> RefundResult:
    payment = await Payment.get(id=refund_row.payment_id)
    request = RefundRequest(
        refund_id=refund_row.id,
        payment_id=payment.id,
        provider_payment_id=payment.provider_payment_id or "",
        amount=refund_row.amount,
        reason=refund_row.reason,
        idempotency_key=f"refund-{refund_row.id}",
    )
    return await config.gateway_for(payment.payment_method_type).refund(request)


async def _commit(
    key: IdempotencyKey, refund_row: Refund, result: RefundResult | None
) -> tuple[Refund, Payment]:
    settled = result or RefundResult("", refund_row.status)
    return await commit_refund_outcome(refund_row.id, settled, key)


async def _refused(key: IdempotencyKey, refund_row: Refund, error: PaymentsError) -> None:
    # The gateway disagrees with our books: release the reservation, report it.
    failed = RefundResult("", RefundStatus.FAILED, "amount_too_large")
    await commit_refund_outcome(refund_row.id, failed, key, error)


async def commit_refund_outcome(
    refund_id: str,
    result: RefundResult,
    key: IdempotencyKey | None = None,
    error: PaymentsError | None = None,
    source: EventSource = EventSource.API,
) -> tuple[Refund, Payment]:
    """Settle a reserved refund: a success moves money and emits an event; a failure frees it."""
    async with in_transaction() as connection:
        payment = await lock_payment((await Refund.get(id=refund_id)).payment_id, connection)
        assert payment is not None
        refund_row = await Refund.select_for_update().using_db(connection).get(id=refund_id)
        if refund_row.status is RefundStatus.PENDING and result.status is not RefundStatus.PENDING:
            await _settle(payment, refund_row, result, connection, source)
        if result.provider_refund_id and refund_row.provider_refund_id is None:
            refund_row.provider_refund_id = result.provider_refund_id
            await refund_row.save(using_db=connection, update_fields=["provider_refund_id"])
        if key is not None:
            await complete_key(key, connection, resource_id=refund_row.id, error=error)
    return refund_row, payment


async def _settle(
    payment: Payment,
    refund_row: Refund,
    result: RefundResult,
    connection: BaseDBAsyncClient,
    source: EventSource,
) -> None:
    refund_row.status = result.status
    refund_row.failure_reason = result.failure_reason
    await refund_row.save(
        using_db=connection, update_fields=["status", "failure_reason", "updated_at"]
    )
    payment.amount_refund_pending -= refund_row.amount
    metrics.REFUNDS.labels(result.status.value).inc()
    if result.status is not RefundStatus.SUCCEEDED:
        await payment.save(
            using_db=connection, update_fields=["amount_refund_pending", "updated_at"]
        )
        return
    refunded = payment.amount_refunded + refund_row.amount
    target = status_after_refunds(payment.amount_captured, refunded)
    # The pending amount it no longer holds is written with the move.
    fields = {"amount_refunded": refunded, "amount_refund_pending": payment.amount_refund_pending}
    await apply_change(payment, Change(target, source, fields), connection)
