"""Reading Stripe's objects: optional fields, expandable ids, and a PaymentIntent's state."""

from datetime import UTC, datetime
from typing import Any

import stripe

from models.enums import PaymentStatus
from payments.gateways.base import ChargeResult
from payments.gateways.stripe.bank_transfers import waiting_transfer
from payments.gateways.stripe.vocabulary import CANCELLATION_REASONS

PAYMENT_STATUSES = {
    "succeeded": PaymentStatus.SUCCEEDED,
    "processing": PaymentStatus.PROCESSING,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "requires_capture": PaymentStatus.AUTHORIZED,
    "canceled": PaymentStatus.CANCELED,
    # After a failed confirmation (the service returns an intent's payment to waiting).
    "requires_payment_method": PaymentStatus.FAILED,
}


def charge_result(intent: stripe.PaymentIntent) -> ChargeResult:
    # Unknown or in-between statuses are in flight: a webhook or the reconciler settles them.
    status = PAYMENT_STATUSES.get(intent.status, PaymentStatus.PROCESSING)
    # Null unless a confirmation failed; its code, decline_code and message are conditional.
    error = expanded(intent, "last_payment_error") if status is PaymentStatus.FAILED else None
    brand, last4 = brand_and_last4(_charge_card(expanded(intent, "latest_charge")))
    # Only needed (and only shown to the owner) while the customer must authenticate.
    secret = text(intent, "client_secret") if status is PaymentStatus.REQUIRES_ACTION else None
    return ChargeResult(
        provider_payment_id=intent.id,
        status=status,
        failure_code=failure_code_of(text(error, "code"), text(error, "decline_code")),
        failure_message=text(error, "message"),
        client_secret=secret,
        card_brand=brand,
        card_last4=last4,
        **_capture_state(intent, status),
        **_transfer_state(intent, status),
    )


def _transfer_state(intent: stripe.PaymentIntent, status: PaymentStatus) -> dict[str, Any]:
    """A bank transfer waiting for money: its instructions and what came in so far."""
    waiting = (
        waiting_transfer(intent.to_dict()) if status is PaymentStatus.REQUIRES_ACTION else None
    )
    if waiting is None:
        return {}
    action, received = waiting
    return {"next_action": action, "amount_received": received}


def _capture_state(intent: stripe.PaymentIntent, status: PaymentStatus) -> dict[str, Any]:
    """The held, captured and canceled amounts and times, where the status has them."""
    if status is PaymentStatus.AUTHORIZED:
        card = _charge_card(expanded(intent, "latest_charge"))
        return {
            "amount_capturable": _amount(intent, "amount_capturable"),
            "capture_before": _time(card, "capture_before"),
        }
    if status is PaymentStatus.SUCCEEDED:
        return {"amount_captured": _amount(intent, "amount_received")}
    if status is PaymentStatus.CANCELED:
        reason = text(intent, "cancellation_reason") or ""
        return {
            "canceled_at": _time(intent, "canceled_at"),
            "cancellation_reason": CANCELLATION_REASONS.get(reason),
        }
    return {}


def _amount(obj: object, name: str) -> int | None:
    value = field(obj, name)
    return value if isinstance(value, int) and value > 0 else None


def _time(obj: object, name: str) -> datetime | None:
    value = field(obj, name)
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


def _charge_card(charge: stripe.StripeObject | None) -> stripe.StripeObject | None:
    # payment_method_details is nullable, and holds `card` only when a card paid (not a debit).
    return expanded(expanded(charge, "payment_method_details"), "card")


def brand_and_last4(card: stripe.StripeObject | None) -> tuple[str | None, str | None]:
    # Nothing else of a card is ever kept (DESIGN: only gateway ids, brand and last4).
    return text(card, "brand"), text(card, "last4")


def failure_code_of(code: str | None, decline_code: str | None) -> str | None:
    # A generic decline tells no more than card_declined, the code our clients know.
    if code == "card_declined" and decline_code not in (None, "generic_decline"):
        return decline_code
    return code


def metadata_value(metadata: object, name: str) -> str | None:
    value = field(metadata, name)
    return str(value) if value is not None else None


def field(obj: object, name: str) -> object:
    """`obj[name]`, or None when Stripe left the key out, sent null, or `obj` is no object.

    Stripe omits conditional fields and the SDK raises AttributeError for an absent key
    (StripeObject is not a dict: no .get()), so every field Stripe may omit is read here.
    """
    return obj[name] if isinstance(obj, stripe.StripeObject) and name in obj else None


def text(obj: object, name: str) -> str | None:
    value = field(obj, name)
    return value if isinstance(value, str) else None


def expanded(obj: object, name: str) -> stripe.StripeObject | None:
    """A nested or expanded object; None when absent, null, or only an id was sent."""
    value = field(obj, name)
    return value if isinstance(value, stripe.StripeObject) else None


def expandable_id(obj: object, name: str) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    value = field(obj, name)
    return text(value, "id") if isinstance(value, stripe.StripeObject) else text(obj, name)
