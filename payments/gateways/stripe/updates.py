"""Reading stored Stripe events into the provider-neutral updates the domain applies."""

import json
from datetime import UTC, datetime
from typing import Any

from models.enums import PaymentStatus, RefundReason
from payments.gateways.base import (
    EventEnvelope,
    GatewayUpdate,
    PaymentMoved,
    RefundsReported,
    ReportedChange,
    ReportedRefund,
)
from payments.gateways.stripe.bank_transfers import waiting_transfer
from payments.gateways.stripe.disputes import read_dispute
from payments.gateways.stripe.vocabulary import CANCELLATION_REASONS, refund_status

_INTENT_STATUSES = {
    "payment_intent.succeeded": PaymentStatus.SUCCEEDED,
    "payment_intent.payment_failed": PaymentStatus.FAILED,
    "payment_intent.processing": PaymentStatus.PROCESSING,
    "payment_intent.requires_action": PaymentStatus.REQUIRES_ACTION,
    # A bank transfer received part of its amount; it still waits for the rest.
    "payment_intent.partially_funded": PaymentStatus.REQUIRES_ACTION,
    "payment_intent.amount_capturable_updated": PaymentStatus.AUTHORIZED,
    "payment_intent.canceled": PaymentStatus.CANCELED,
}
_REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed"})
_DISPUTE_EVENTS = frozenset(
    f"charge.dispute.{change}"
    for change in ("created", "updated", "closed", "funds_withdrawn", "funds_reinstated")
)
# What is worth recovering from Stripe's Events list: any other type changes nothing.
HANDLED_EVENT_TYPES = frozenset(
    {*_INTENT_STATUSES, *_REFUND_EVENTS, *_DISPUTE_EVENTS, "charge.captured", "charge.refunded"}
)


# Seconds since 1970 that PostgreSQL and Python's datetime both hold (years 1 to 9999).
_EARLIEST_CREATED, _LATEST_CREATED = -62_135_596_800, 253_402_300_799


def read_stripe_envelope(body: bytes) -> EventEnvelope | None:
    """A verified body's id, type and time; None unless it is a JSON object with them usable.

    None answers 400, so that Stripe stops resending what can never be stored.
    """
    try:
        event = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # RecursionError: nested past Python's stack
        return None
    if not isinstance(event, dict):
        return None
    event_id, event_type, created = event.get("id"), event.get("type"), event.get("created")
    if not (isinstance(event_id, str) and isinstance(event_type, str)):
        return None
    if not isinstance(created, int):
        return EventEnvelope(event_id, event_type, None)  # Stripe always sends one
    if not _EARLIEST_CREATED <= created <= _LATEST_CREATED:
        return None
    return EventEnvelope(event_id, event_type, datetime.fromtimestamp(created, UTC))


def read_stripe_event(payload: str) -> GatewayUpdate:
    """The update a stored Stripe event reports; its change is None for types we ignore."""
    event = json.loads(payload)
    created, data = event.get("created"), event.get("data")
    # The inbox stored only a verified id and type; the rest may be any JSON at all.
    found = data.get("object") if isinstance(data, dict) else None
    obj: dict[str, Any] = found if isinstance(found, dict) else {}
    occurred_at = (
        datetime.fromtimestamp(created, UTC) if isinstance(created, int) else datetime.now(UTC)
    )
    event_type = event["type"]
    # A PaymentIntent event carries the intent; charge, refund and dispute events point to it.
    intent_field = "id" if event_type.startswith("payment_intent.") else "payment_intent"
    # Nullable, and absent from some objects: either way there is nothing to match on.
    metadata = obj.get("metadata")
    our_id = metadata.get("payment_id") if isinstance(metadata, dict) else None
    return GatewayUpdate(
        event_id=event["id"],
        type=event_type,
        occurred_at=occurred_at,
        provider_payment_id=_object_id(obj.get(intent_field)),
        payment_id=our_id if isinstance(our_id, str) else None,
        change=_change(event_type, obj, occurred_at),
    )


def _object_id(value: object) -> str | None:
    """An expandable field's id: Stripe sends the id, or the object when it was expanded."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _change(event_type: str, obj: dict[str, Any], occurred_at: datetime) -> ReportedChange | None:
    status = _INTENT_STATUSES.get(event_type)
    if status is not None:
        return PaymentMoved(status, _intent_fields(status, obj, occurred_at))
    if event_type == "charge.captured":
        # A partial capture: Stripe released the rest, so captured is what the charge says.
        captured = _amount_field("amount_captured", obj.get("amount_captured"))
        return PaymentMoved(PaymentStatus.SUCCEEDED, captured)
    if event_type == "charge.refunded":
        # Newer API versions omit the refunds list: refund.* events then carry each refund.
        refunds = obj.get("refunds")
        listed = refunds.get("data") if isinstance(refunds, dict) else None
        total = obj.get("amount_refunded")
        return RefundsReported(
            tuple(_refund(refund) for refund in listed if isinstance(refund, dict))
            if isinstance(listed, list)
            else (),
            total if isinstance(total, int) else 0,
        )
    if event_type in _REFUND_EVENTS:
        return RefundsReported((_refund(obj),))
    # Each dispute event carries the whole Dispute: the newest of them is its state.
    return read_dispute(obj, occurred_at, event_type) if event_type in _DISPUTE_EVENTS else None


def _intent_fields(
    status: PaymentStatus, intent: dict[str, Any], occurred_at: datetime
) -> dict[str, Any]:
    if status is PaymentStatus.FAILED:
        found = intent.get("last_payment_error")
        error = found if isinstance(found, dict) else {}
        return {
            "failure_code": error.get("decline_code") or error.get("code"),
            "failure_message": error.get("message"),
        }
    if status is PaymentStatus.REQUIRES_ACTION:
        return _action_fields(intent)
    if status is PaymentStatus.CANCELED:
        return _cancellation_fields(intent, occurred_at)
    if status is PaymentStatus.SUCCEEDED:
        return _amount_field("amount_captured", intent.get("amount_received"))
    if status is PaymentStatus.AUTHORIZED:
        return _amount_field("amount_capturable", intent.get("amount_capturable"))
    return {}


def _action_fields(intent: dict[str, Any]) -> dict[str, Any]:
    """What the customer must do: authenticate (client secret) or send the rest of a transfer."""
    fields: dict[str, Any] = {}
    if intent.get("client_secret"):
        fields["client_secret"] = intent["client_secret"]
    waiting = waiting_transfer(intent)
    if waiting is not None:
        action, received = waiting
        fields["next_action"] = action.stored()
        if received is not None:
            fields["amount_received"] = received
    return fields


def _cancellation_fields(intent: dict[str, Any], occurred_at: datetime) -> dict[str, Any]:
    canceled_at = intent.get("canceled_at")
    return {
        "cancellation_reason": CANCELLATION_REASONS.get(str(intent.get("cancellation_reason"))),
        "canceled_at": datetime.fromtimestamp(canceled_at, UTC)
        if isinstance(canceled_at, int)
        else occurred_at,
    }


def _amount_field(name: str, value: object) -> dict[str, Any]:
    # Absent or zero (an event of another API version): the move's own rule decides it.
    return {name: value} if isinstance(value, int) and value > 0 else {}


def _refund(refund: dict[str, Any]) -> ReportedRefund:
    # Read leniently: whether a missing field matters is the domain's call, once it has
    # found the payment (an unknown payment is retried whatever its refund says).
    metadata = refund.get("metadata")
    our_id = metadata.get("refund_id") if isinstance(metadata, dict) else None
    refund_id, amount = refund.get("id"), refund.get("amount")
    reason = str(refund.get("reason") or "").upper()
    return ReportedRefund(
        provider_refund_id=refund_id if isinstance(refund_id, str) else None,
        refund_id=our_id if isinstance(our_id, str) else None,
        amount=amount if isinstance(amount, int) else None,
        status=refund_status(refund.get("status")),
        failure_reason=refund.get("failure_reason"),
        reason=RefundReason(reason) if reason in RefundReason.__members__ else None,
    )
