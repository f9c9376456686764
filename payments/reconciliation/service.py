"""Finishes what a crash or a lost webhook left half-done by asking the gateway, never charging."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.enums import EventSource, PaymentMethodType, PaymentStatus, RefundStatus
from models.payment import Payment, Refund
from payments.disputes.service import adopt_unmatched
from payments.gateways.base import ChargeResult, Gateway, RefundResult
from payments.lifecycle.answer_fields import outcome_fields
from payments.lifecycle.transitions import Change, apply_change, lock_payment
from payments.refunds.service import commit_refund_outcome
from payments.service_config import ServiceConfig
from payments.shared.errors import GatewayUnavailable, NotFound, PaymentMethodTypeUnsupported
from payments.shared.rows import every_row

log = structlog.get_logger(__name__)

BATCH_SIZE = 100
_AWAITING_GATEWAY = (PaymentStatus.PROCESSING, PaymentStatus.REQUIRES_ACTION)


@dataclass(frozen=True)
class ReconcilePolicy:
    # Older than any live request could be (idempotency lock timeout plus the gateway timeout).
    stale_after: timedelta = timedelta(minutes=5)
    # Past this, a payment the gateway never saw is abandoned (search lag is far shorter).
    abandon_after: timedelta = timedelta(hours=1)


async def reconcile(rails: ServiceConfig, policy: ReconcilePolicy) -> int:
    """Settle stale PENDING payments and refunds, and poll payments whose webhook is overdue.

    Looks each up at its own rail's gateway (a PayPal payment at PayPal: its order, or
    the capture's state) and applies what the gateway says with source RECONCILER.
    Disputes kept without a payment are attached to one that now matches, or reported
    (logged and counted) again. Returns how many rows changed.
    """
    now = datetime.now(UTC)
    changed = 0
    stale, abandon = now - policy.stale_after, now - policy.abandon_after
    pending = Payment.filter(status=PaymentStatus.PENDING, updated_at__lt=stale)
    async for payment in every_row(pending, BATCH_SIZE):
        changed += await _settle_payment(payment, rails, abandon)
    # A bank transfer waits for the customer's bank for days, and is not overdue for it: its
    # money arrives as the provider's events (recovered from Stripe's Events list too).
    awaiting = Payment.filter(
        ~Q(
            status=PaymentStatus.REQUIRES_ACTION,
            payment_method_type=PaymentMethodType.BANK_TRANSFER,
        ),
        status__in=_AWAITING_GATEWAY,
        updated_at__lt=stale,
    )
    async for payment in every_row(awaiting.filter(provider_payment_id__isnull=False), BATCH_SIZE):
        changed += await _poll_payment(payment, rails)
    refunds = Refund.filter(status=RefundStatus.PENDING, updated_at__lt=stale)
    async for refund in every_row(refunds, BATCH_SIZE):
        changed += await _settle_refund(refund, rails, abandon)
    adopted, _ = await adopt_unmatched()
    return changed + adopted


def _rail(payment: Payment, rails: ServiceConfig) -> Gateway | None:
    """The gateway that moved the payment's money; None where this process lacks that rail."""
    try:
        return rails.gateway_for(payment.payment_method_type)
    except PaymentMethodTypeUnsupported:
        # Another process (one with that rail) settles it; nothing here can ask.
        log.warning("payment_rail_missing", payment_id=payment.id)
        return None


async def _settle_payment(payment: Payment, rails: ServiceConfig, abandon_before: datetime) -> int:
    gateway = _rail(payment, rails)
    if gateway is None:
        return 0
    try:
        result = await gateway.find_payment(payment.id)
    except GatewayUnavailable:
        return 0
    if result is None:
        if payment.created_at >= abandon_before:
            return 0
        result = ChargeResult(
            "", PaymentStatus.CANCELED, "abandoned", "The gateway never received it."
        )
    return await _apply(payment.id, result)


async def _poll_payment(payment: Payment, rails: ServiceConfig) -> int:
    gateway = _rail(payment, rails)
    if gateway is None:
        return 0
    try:
        result = await gateway.retrieve_payment(payment.provider_payment_id or "")
    except (GatewayUnavailable, NotFound) as error:
        log.warning("payment_poll_failed", payment_id=payment.id, error=error.message)
        return 0
    return await _apply(payment.id, result) if result.status is not payment.status else 0


async def _apply(payment_id: str, result: ChargeResult) -> int:
    fields = {name: value for name, value in outcome_fields(result).items() if value}
    async with in_transaction() as connection:
        payment = await lock_payment(payment_id, connection)
        assert payment is not None
        applied = await apply_change(
            payment, Change(result.status, EventSource.RECONCILER, fields), connection
        )
    log.info(
        "payment_reconciled", payment_id=payment_id, status=result.status.value, applied=applied
    )
    return int(applied)


async def _settle_refund(refund: Refund, rails: ServiceConfig, abandon_before: datetime) -> int:
    payment = await Payment.get(id=refund.payment_id)
    gateway = _rail(payment, rails)
    if gateway is None:
        return 0
    try:
        result = await gateway.find_refund(refund.id, payment.provider_payment_id or "")
    except GatewayUnavailable:
        return 0
    if result is None:
        if refund.created_at >= abandon_before:
            return 0
        result = RefundResult("", RefundStatus.CANCELED, "abandoned")
    if result.status is RefundStatus.PENDING:
        return 0
    await commit_refund_outcome(refund.id, result, source=EventSource.RECONCILER)
    log.info("refund_reconciled", refund_id=refund.id, status=result.status.value)
    return 1
