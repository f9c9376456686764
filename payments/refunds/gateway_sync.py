"""Refunds as the gateway reports them: matched to ours or recorded, and settled exactly once."""

from tortoise.backends.base.client import BaseDBAsyncClient

from models.enums import EventSource, RefundStatus
from models.payment import Refund
from payments.gateways.base import RefundResult, ReportedRefund
from payments.lifecycle.transitions import lock_payment
from payments.refunds.service import commit_refund_outcome
from payments.shared.errors import PaymentsError


class UnreadableRefund(PaymentsError):
    """The gateway reported a refund without the id (or, for one not ours, the amount) needed."""

    code = "GATEWAY_REFUND_UNREADABLE"


async def sync_refund(
    payment_id: str, reported: ReportedRefund, connection: BaseDBAsyncClient
) -> None:
    """Create or settle the refund row the gateway reports; money moves once, by its status.

    The caller holds the payment's row lock in `connection`'s transaction.
    """
    provider_refund_id = reported.provider_refund_id
    if provider_refund_id is None:
        raise UnreadableRefund(f"A refund of payment {payment_id} without its gateway id.")
    row = await _refund_row(payment_id, reported, connection)
    if row is None:
        row = await _record_external_refund(payment_id, reported, connection)
    result = RefundResult(provider_refund_id, reported.status, reported.failure_reason)
    # Nested in our transaction (a savepoint), under the payment lock we already hold.
    await commit_refund_outcome(row.id, result, source=EventSource.WEBHOOK)


async def _refund_row(
    payment_id: str, reported: ReportedRefund, connection: BaseDBAsyncClient
) -> Refund | None:
    """Ours by the gateway's refund id, or by the refund id our adapter gave it."""
    refunds = Refund.filter(payment_id=payment_id).using_db(connection)
    row = await refunds.filter(provider_refund_id=reported.provider_refund_id).first()
    if row is None and reported.refund_id is not None:
        row = await refunds.filter(id=reported.refund_id).first()
    return row


async def _record_external_refund(
    payment_id: str, reported: ReportedRefund, connection: BaseDBAsyncClient
) -> Refund:
    """A refund made outside our API (the provider's dashboard): reserved now, settled like ours."""
    if reported.amount is None:
        raise UnreadableRefund(f"A refund of payment {payment_id} made elsewhere, without amount.")
    payment = await lock_payment(payment_id, connection)
    assert payment is not None
    payment.amount_refund_pending += reported.amount
    await payment.save(using_db=connection, update_fields=["amount_refund_pending", "updated_at"])
    return await Refund.create(
        payment_id=payment_id,
        amount=reported.amount,
        status=RefundStatus.PENDING,
        reason=reported.reason,
        source=EventSource.WEBHOOK,
        provider_refund_id=reported.provider_refund_id,
        using_db=connection,
    )
