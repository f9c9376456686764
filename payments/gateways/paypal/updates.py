"""Reading stored PayPal webhook events into the provider-neutral updates the domain applies.

The payment is named by `custom_id` (ours, on the order, its captures and authorizations)
or by the order id: `resource.id` of an order, `supplementary_data.related_ids.order_id`
of a capture or authorization. A refund's `custom_id` is `<payment id>:<refund id>`; a
dispute's disputed transaction carries the capture's `custom_id` as `custom`.
"""

import json
from datetime import UTC, datetime
from typing import Any

from models.enums import DisputeStatus, PaymentStatus, RefundStatus
from payments.gateways.base import (
    DisputeReported,
    EventEnvelope,
    GatewayUpdate,
    PaymentApproved,
    PaymentMoved,
    RefundsReported,
    ReportedChange,
    ReportedRefund,
)
from payments.gateways.paypal.reading import (
    minor_units,
    objects,
    related_order_id,
    text,
)

REFUND_REFERENCE_SEPARATOR = ":"
_CAPTURE_STATUSES = {
    "PAYMENT.CAPTURE.COMPLETED": PaymentStatus.SUCCEEDED,
    "PAYMENT.CAPTURE.PENDING": PaymentStatus.PROCESSING,
    "PAYMENT.CAPTURE.DENIED": PaymentStatus.FAILED,
    "PAYMENT.CAPTURE.DECLINED": PaymentStatus.FAILED,
}
_AUTHORIZATION_STATUSES = {
    "PAYMENT.AUTHORIZATION.CREATED": PaymentStatus.AUTHORIZED,
    "PAYMENT.AUTHORIZATION.VOIDED": PaymentStatus.CANCELED,
}
# The resource of these two is a refund: ours, or PayPal's own (a reversal, a chargeback).
_REFUND_EVENTS = frozenset({"PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"})
_DISPUTE_EVENTS = frozenset(
    {"CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.UPDATED", "CUSTOMER.DISPUTE.RESOLVED"}
)
# Outcomes of a resolved dispute that leave the money with the merchant.
_SELLER_KEEPS = frozenset({"RESOLVED_SELLER_FAVOUR", "CANCELED_BY_BUYER", "DENIED"})
_REFUND_STATUSES = {
    "COMPLETED": RefundStatus.SUCCEEDED,
    "PENDING": RefundStatus.PENDING,
    "FAILED": RefundStatus.FAILED,
    "CANCELLED": RefundStatus.CANCELED,
}


def refund_reference(payment_id: str, refund_id: str) -> str:
    """The custom_id our refunds carry: which payment, and which of its refunds."""
    return f"{payment_id}{REFUND_REFERENCE_SEPARATOR}{refund_id}"


def read_paypal_envelope(body: bytes) -> EventEnvelope | None:
    """A verified body's id, event_type and create_time; None unless they are usable."""
    try:
        event = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(event, dict):
        return None
    event_id, event_type = event.get("id"), event.get("event_type")
    if not (isinstance(event_id, str) and isinstance(event_type, str)):
        return None
    return EventEnvelope(event_id, event_type, _time(event.get("create_time")))


def read_paypal_event(payload: str) -> GatewayUpdate:
    """The update a stored PayPal event reports; its change is None for types we ignore."""
    event = json.loads(payload)
    found = event.get("resource")
    resource: dict[str, Any] = found if isinstance(found, dict) else {}
    event_type = event["event_type"]
    order_id, payment_id, change = _read(event_type, resource)
    return GatewayUpdate(
        event_id=event["id"],
        type=event_type,
        occurred_at=_time(event.get("create_time")) or datetime.now(UTC),
        provider_payment_id=order_id,
        payment_id=payment_id,
        change=change,
    )


def _read(
    event_type: str, resource: dict[str, Any]
) -> tuple[str | None, str | None, ReportedChange | None]:
    if event_type == "CHECKOUT.ORDER.APPROVED":
        units = objects(resource.get("purchase_units"))
        custom_id = text(units[0], "custom_id") if units else None
        return text(resource, "id"), custom_id, PaymentApproved()
    if event_type in _REFUND_EVENTS:
        return _refund(resource)
    if event_type in _DISPUTE_EVENTS:
        return dispute_change(resource)
    order_id, custom_id = related_order_id(resource), text(resource, "custom_id")
    if event_type in _CAPTURE_STATUSES:
        return order_id, custom_id, _capture_moved(_CAPTURE_STATUSES[event_type], resource)
    if event_type in _AUTHORIZATION_STATUSES:
        status = _AUTHORIZATION_STATUSES[event_type]
        fields: dict[str, Any] = {"amount_capturable": 0}
        if status is PaymentStatus.AUTHORIZED:
            fields = {"amount_capturable": minor_units(resource.get("amount"))}
            expires = _time(resource.get("expiration_time"))
            if expires is not None:
                fields["capture_before"] = expires
        return order_id, custom_id, PaymentMoved(status, _known(fields))
    # Any other type: stored, no effect.
    return order_id, custom_id, None


def dispute_change(resource: dict[str, Any]) -> tuple[None, str | None, DisputeReported | None]:
    """A PayPal dispute as the neutral report; None where it lacks what we keep."""
    transactions = objects(resource.get("disputed_transactions"))
    payment_id = next((custom for t in transactions if (custom := text(t, "custom"))), None)
    money = resource.get("dispute_amount")
    dispute_id, amount = text(resource, "dispute_id"), minor_units(money)
    currency = text(money, "currency_code") if isinstance(money, dict) else None
    reported_at = _time(resource.get("update_time")) or _time(resource.get("create_time"))
    if not (dispute_id and amount is not None and currency and reported_at):
        return None, payment_id, None
    movements = objects(resource.get("money_movements"))
    seller = [m for m in movements if text(m, "affected_party") == "SELLER"]
    return (
        None,
        payment_id,
        DisputeReported(
            provider_dispute_id=dispute_id,
            amount=amount,
            currency=currency.upper(),
            reason=(text(resource, "reason") or "general").lower(),
            status=_dispute_status(resource),
            evidence_due_by=_time(resource.get("seller_response_due_date")),
            reported_at=reported_at,
            funds_withdrawn=any(text(m, "type") == "DEBIT" for m in seller),
            funds_reinstated=any(text(m, "type") == "CREDIT" for m in seller),
        ),
    )


def _dispute_status(resource: dict[str, Any]) -> DisputeStatus:
    # An inquiry (the buyer asks before claiming) is a warning, as Stripe's inquiries are.
    inquiry = text(resource, "dispute_life_cycle_stage") == "INQUIRY"
    status = text(resource, "status")
    if status == "RESOLVED":
        if inquiry:
            return DisputeStatus.WARNING_CLOSED
        outcome = resource.get("dispute_outcome")
        code = text(outcome, "outcome_code") if isinstance(outcome, dict) else None
        return DisputeStatus.WON if code in _SELLER_KEEPS else DisputeStatus.LOST
    if status == "WAITING_FOR_SELLER_RESPONSE":
        return DisputeStatus.WARNING_NEEDS_RESPONSE if inquiry else DisputeStatus.NEEDS_RESPONSE
    return DisputeStatus.WARNING_UNDER_REVIEW if inquiry else DisputeStatus.UNDER_REVIEW


def _capture_moved(status: PaymentStatus, capture: dict[str, Any]) -> PaymentMoved:
    if status is PaymentStatus.SUCCEEDED:
        return PaymentMoved(
            status,
            _known({"amount_captured": minor_units(capture.get("amount")), "amount_capturable": 0}),
        )
    if status is PaymentStatus.FAILED:
        details = capture.get("status_details")
        reason = text(details, "reason") if isinstance(details, dict) else None
        return PaymentMoved(
            status,
            {
                "failure_code": (reason or "capture_declined").lower(),
                "failure_message": "PayPal declined the payment.",
            },
        )
    return PaymentMoved(status, {})


def _refund(
    refund: dict[str, Any],
) -> tuple[str | None, str | None, ReportedChange | None]:
    custom_id = text(refund, "custom_id") or ""
    payment_id, _, refund_id = custom_id.partition(REFUND_REFERENCE_SEPARATOR)
    if not payment_id or not refund_id:
        # PayPal's own refund (dashboard, reversal): no reference to a payment of ours.
        return None, None, None
    reported = ReportedRefund(
        provider_refund_id=text(refund, "id"),
        refund_id=refund_id,
        amount=minor_units(refund.get("amount")),
        status=_REFUND_STATUSES.get(text(refund, "status") or "", RefundStatus.PENDING),
        failure_reason=None,
        reason=None,
    )
    return None, payment_id, RefundsReported((reported,))


def _known(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
