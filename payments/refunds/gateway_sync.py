"""Refunds as Stripe reports them: matched to ours or recorded, and settled exactly once."""

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models.enums import EventSource, RefundReason, RefundStatus
from models.payment import Refund
from payments.gateways.base import RefundResult
from payments.gateways.stripe.vocabulary import refund_status
from payments.lifecycle.transitions import lock_payment
from payments.refunds.service import commit_refund_outcome


async def sync_refund(
    payment_id: str, refund_object: dict[str, Any], connection: BaseDBAsyncClient
) -> None:
    """Create or settle the refund row Stripe describes; money moves once, guarded by its status.

    The caller holds the payment's row lock in `connection`'s transaction.
    """
    row = await _refund_row(payment_id, refund_object, connection)
    if row is None:
        row = await _record_external_refund(payment_id, refund_object, connection)
    status = refund_status(refund_object.get("status"))
    result = RefundResult(refund_object["id"], status, refund_object.get("failure_reason"))
    # Nested in our transaction (a savepoint), under the payment lock we already hold.
    await commit_refund_outcome(row.id, result, source=EventSource.WEBHOOK)


async def _refund_row(
    payment_id: str, refund_object: dict[str, Any], connection: BaseDBAsyncClient
) -> Refund | None:
    """Ours by Stripe's refund id, or by the refund id our adapter put in its metadata."""
    refunds = Refund.filter(payment_id=payment_id).using_db(connection)
    row = await refunds.filter(provider_refund_id=refund_object["id"]).first()
    our_id = (refund_object.get("metadata") or {}).get("refund_id")
    if row is None and isinstance(our_id, str):
        row = await refunds.filter(id=our_id).first()
    return row


async def _record_external_refund(
    payment_id: str, refund_object: dict[str, Any], connection: BaseDBAsyncClient
) -> Refund:
    """A refund made outside our API (Stripe dashboard): reserved now, settled like ours."""
    payment = await lock_payment(payment_id, connection)
    assert payment is not None
    amount = int(refund_object["amount"])
    payment.amount_refund_pending += amount
    await payment.save(using_db=connection, update_fields=["amount_refund_pending", "updated_at"])
    reason = str(refund_object.get("reason") or "").upper()
    return await Refund.create(
        payment_id=payment_id,
        amount=amount,
        status=RefundStatus.PENDING,
        reason=RefundReason(reason) if reason in RefundReason.__members__ else None,
        source=EventSource.WEBHOOK,
        provider_refund_id=refund_object["id"],
        using_db=connection,
    )
