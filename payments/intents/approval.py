"""A payment the buyer approved at the provider (PayPal) is captured or held exactly once.

Both paths that learn of the approval end in `confirm_at_gateway`: the BFF's
confirmPayment (through the keyed call of intents/service.py) and the worker's
CHECKOUT.ORDER.APPROVED (`capture_approved`). The provider is asked with one request id
derived from the payment, so however the two race, it moves the money once; our state
machine absorbs the second, identical answer.
"""

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.enums import EventSource, PaymentMethodType, PaymentStatus, PendingOperation
from models.payment import Payment
from payments.gateways.base import ChargeResult, ConfirmRequest
from payments.lifecycle.answer_fields import outcome_fields
from payments.lifecycle.state_machine import APPROVABLE
from payments.lifecycle.transitions import Change, apply_change, lock_payment
from payments.service_config import ServiceConfig
from payments.shared.errors import PaymentNotConfirmable, PaymentsError

log = structlog.get_logger(__name__)


class ApprovalDeferred(PaymentsError):
    """The payment is not ready for its approval yet: retried later.

    Its creation is still committing (PENDING), or a cancellation is under way.
    """

    code = "APPROVAL_DEFERRED"


async def confirm_at_gateway(
    payment: Payment, config: ServiceConfig, return_url: str | None = None
) -> ChargeResult:
    """Ask the payment's rail to confirm it: capture or authorize an approved PayPal order."""
    return await config.gateway_for(payment.payment_method_type).confirm(
        ConfirmRequest(
            payment_id=payment.id,
            provider_payment_id=payment.provider_payment_id or "",
            payment_method_id=payment.payment_method_id or None,
            return_url=return_url,
            amount=payment.amount,
            currency=payment.currency,
            capture_method=payment.capture_method,
            # Cards: one key per attempt. PayPal derives its own from the payment alone.
            idempotency_key=f"confirm-{payment.id}-{payment.confirmation_attempts}",
        )
    )


async def capture_approved(payment_id: str, config: ServiceConfig, event_id: str) -> None:
    """Capture (or authorize) a payment whose approval the provider reported; once.

    Nothing happens to a payment no longer waiting for approval: captured already (by
    confirmPayment), canceled (a late approval captures nothing) or failed. Raises
    ApprovalDeferred while its creation or a cancellation is under way, GatewayUnavailable
    when the outcome is unknown (the event is retried, and the same request id replays it).
    """
    async with in_transaction() as connection:
        payment = await lock_payment(payment_id, connection)
        if payment is not None and payment.status is PaymentStatus.PENDING:
            raise ApprovalDeferred(f"Payment {payment_id} is still being created.")
        # Only a PayPal payment is approved at PayPal: a signed approval naming another
        # rail's payment (its custom_id) must never confirm it.
        if payment is None or payment.payment_method_type is not PaymentMethodType.PAYPAL:
            return
        if payment.status not in APPROVABLE:
            return
        if payment.pending_operation is PendingOperation.CANCEL:
            raise ApprovalDeferred(f"Payment {payment_id} is being canceled.")
        # A confirmPayment under way holds CONFIRM already: asking again only replays its
        # answer (same request id); holding it here keeps a cancellation out meanwhile.
        reserved_here = payment.pending_operation is None
        if reserved_here:
            payment.pending_operation = PendingOperation.CONFIRM
            await payment.save(
                using_db=connection, update_fields=["pending_operation", "updated_at"]
            )
    try:
        result = await confirm_at_gateway(payment, config)
    except Exception as error:
        if reserved_here:
            await _release(payment_id)
        if not isinstance(error, PaymentNotConfirmable):
            raise
        # PayPal says it is not approved (an approval older than a reset): nothing to do.
        log.warning("approval_not_confirmable", payment_id=payment_id, event_id=event_id)
        return
    async with in_transaction() as connection:
        locked = await lock_payment(payment_id, connection)
        assert locked is not None
        fields = {**outcome_fields(result), "pending_operation": None}
        change = Change(result.status, EventSource.WEBHOOK, fields, event_id)
        if not await apply_change(locked, change, connection):
            await _clear(locked, connection)


async def _release(payment_id: str) -> None:
    async with in_transaction() as connection:
        payment = await lock_payment(payment_id, connection)
        if payment is not None:
            await _clear(payment, connection)


async def _clear(payment: Payment, connection: BaseDBAsyncClient) -> None:
    if payment.pending_operation is PendingOperation.CONFIRM:
        await Payment.filter(id=payment.id).using_db(connection).update(pending_operation=None)
