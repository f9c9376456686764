"""PaymentIntent and capture events: each moves the payment to the status Stripe reports."""

from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models.enums import CancellationReason, EventSource, PaymentStatus
from models.payment import Payment
from payments.gateway_events.events import GatewayEvent, Handler
from payments.lifecycle.state_machine import CAPTURED, status_after_refunds
from payments.lifecycle.transitions import Change, apply_change

# Stripe's cancellation reasons; `automatic` is Stripe voiding a lapsed authorization.
_CANCELLATION_REASONS = {
    "duplicate": CancellationReason.DUPLICATE,
    "fraudulent": CancellationReason.FRAUDULENT,
    "requested_by_customer": CancellationReason.REQUESTED_BY_CUSTOMER,
    "abandoned": CancellationReason.ABANDONED,
    "automatic": CancellationReason.EXPIRED,
    "expired": CancellationReason.EXPIRED,
}


def _intent_moved(target: PaymentStatus) -> Handler:
    async def handle(event: GatewayEvent, payment: Payment, connection: BaseDBAsyncClient) -> None:
        fields = _intent_fields(target, event)
        moved = _captured_status(payment, fields) if target is PaymentStatus.SUCCEEDED else target
        change = Change(moved, EventSource.WEBHOOK, fields, event.id, event.created)
        await apply_change(payment, change, connection)

    return handle


def _intent_fields(target: PaymentStatus, event: GatewayEvent) -> dict[str, Any]:
    intent = event.object
    if target is PaymentStatus.FAILED:
        error = intent.get("last_payment_error") or {}
        return {
            "failure_code": error.get("decline_code") or error.get("code"),
            "failure_message": error.get("message"),
        }
    if target is PaymentStatus.REQUIRES_ACTION and intent.get("client_secret"):
        return {"client_secret": intent["client_secret"]}
    if target is PaymentStatus.CANCELED:
        return _cancellation_fields(event)
    if target is PaymentStatus.SUCCEEDED:
        return _amount_field("amount_captured", intent.get("amount_received"))
    if target is PaymentStatus.AUTHORIZED:
        return _amount_field("amount_capturable", intent.get("amount_capturable"))
    return {}


def _cancellation_fields(event: GatewayEvent) -> dict[str, Any]:
    canceled_at = event.object.get("canceled_at")
    return {
        "cancellation_reason": _CANCELLATION_REASONS.get(
            str(event.object.get("cancellation_reason"))
        ),
        "canceled_at": datetime.fromtimestamp(canceled_at, UTC)
        if isinstance(canceled_at, int)
        else event.created,
    }


def _amount_field(name: str, value: object) -> dict[str, Any]:
    # Absent or zero (an event of another API version): the move's own rule decides it.
    return {name: value} if isinstance(value, int) and value > 0 else {}


async def _charge_captured(
    event: GatewayEvent, payment: Payment, connection: BaseDBAsyncClient
) -> None:
    # A partial capture: Stripe released the rest, so captured is what the charge says.
    fields = _amount_field("amount_captured", event.object.get("amount_captured"))
    target = _captured_status(payment, fields)
    change = Change(target, EventSource.WEBHOOK, fields, event.id, event.created)
    await apply_change(payment, change, connection)


def _captured_status(payment: Payment, fields: dict[str, Any]) -> PaymentStatus:
    """SUCCEEDED, or for a payment a refund event already proved captured, its own status.

    A refund can overtake its payment's capture event; that refund's arrival assumed the
    whole amount was captured. The capture event then corrects the captured amount.
    """
    if payment.status not in CAPTURED or "amount_captured" not in fields:
        return PaymentStatus.SUCCEEDED
    if payment.amount_refunded == 0:
        return payment.status
    return status_after_refunds(fields["amount_captured"], payment.amount_refunded)


INTENT_HANDLERS: dict[str, Handler] = {
    "payment_intent.succeeded": _intent_moved(PaymentStatus.SUCCEEDED),
    "payment_intent.payment_failed": _intent_moved(PaymentStatus.FAILED),
    "payment_intent.processing": _intent_moved(PaymentStatus.PROCESSING),
    "payment_intent.requires_action": _intent_moved(PaymentStatus.REQUIRES_ACTION),
    "payment_intent.amount_capturable_updated": _intent_moved(PaymentStatus.AUTHORIZED),
    "payment_intent.canceled": _intent_moved(PaymentStatus.CANCELED),
    "charge.captured": _charge_captured,
}
