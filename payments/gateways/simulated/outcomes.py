"""The simulated gateway's rules: outcomes by payment method, ids, and its webhook events."""

import hashlib
import time
from dataclasses import replace
from datetime import datetime

from models.enums import CaptureMethod, PaymentStatus
from payments.gateways.base import ChargeResult

_SUCCEEDING = {"pm_card_visa": ("visa", "4242"), "pm_card_mastercard": ("mastercard", "4444")}
_DECLINES = {
    "pm_card_chargeDeclined": ("card_declined", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
}
DELAYED = {
    "pm_sim_processing": "payment_intent.succeeded",
    "pm_sim_processing_fails": "payment_intent.payment_failed",
}
DECLINED = ("card_declined", "The bank declined.")
# What Stripe reports when the customer fails the 3-D Secure challenge.
AUTHENTICATION_FAILED = (
    "payment_intent_authentication_failure",
    "The provided PaymentMethod has failed authentication.",
)


def stable_id(prefix: str, key: str) -> str:
    # Derived from the idempotency key so a retried request finds the same object, as on Stripe.
    return f"{prefix}_sim{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def client_secret(provider_id: str) -> str:
    return f"{provider_id}_secret_{provider_id[-8:]}"


def outcome(
    provider_id: str,
    payment_method_id: str,
    amount: int,
    capture_method: CaptureMethod,
    capture_before: datetime,
) -> ChargeResult:
    """What paying with `payment_method_id` leads to; a manual capture holds the funds."""
    result = _by_method(provider_id, payment_method_id)
    if result.status is PaymentStatus.SUCCEEDED and capture_method is CaptureMethod.MANUAL:
        return replace(
            result,
            status=PaymentStatus.AUTHORIZED,
            amount_capturable=amount,
            capture_before=capture_before,
        )
    if result.status is PaymentStatus.SUCCEEDED:
        return replace(result, amount_captured=amount)
    return result


def _by_method(provider_id: str, payment_method_id: str) -> ChargeResult:
    if payment_method_id in _DECLINES:
        code, message = _DECLINES[payment_method_id]
        return ChargeResult(provider_id, PaymentStatus.FAILED, code, message)
    if payment_method_id == "pm_card_authenticationRequired":
        secret = client_secret(provider_id)
        return ChargeResult(provider_id, PaymentStatus.REQUIRES_ACTION, client_secret=secret)
    if payment_method_id in DELAYED:
        return ChargeResult(provider_id, PaymentStatus.PROCESSING)
    if payment_method_id.startswith("pm_card_"):
        brand, last4 = _SUCCEEDING.get(payment_method_id, ("visa", "4242"))
        return ChargeResult(
            provider_id, PaymentStatus.SUCCEEDED, card_brand=brand, card_last4=last4
        )
    return ChargeResult(
        provider_id,
        PaymentStatus.FAILED,
        "payment_method_not_found",
        f"No such payment method: '{payment_method_id}'.",
    )


def stripe_event(
    event_type: str,
    provider_id: str,
    payment_id: str,
    amount: int,
    currency: str,
    *,
    error: tuple[str, str] = DECLINED,
    attempt: str = "",
) -> dict[str, object]:
    """A Stripe-shaped event of a delayed outcome; a held success is amount_capturable_updated.

    `attempt` tells apart the events of one intent's separate tries (the same type twice).
    """
    succeeded = event_type != "payment_intent.payment_failed"
    statuses = {
        "payment_intent.succeeded": "succeeded",
        "payment_intent.amount_capturable_updated": "requires_capture",
    }
    intent: dict[str, object] = {
        "id": provider_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": amount if event_type.endswith("capturable_updated") else 0,
        "amount_received": amount if event_type == "payment_intent.succeeded" else 0,
        "currency": currency.lower(),
        "status": statuses.get(event_type, "requires_payment_method"),
        "metadata": {"payment_id": payment_id},
    }
    if not succeeded:
        intent["last_payment_error"] = {"code": error[0], "message": error[1]}
    event_key = f"{provider_id}:{event_type}" + (f":{attempt}" if attempt else "")
    return {
        "id": stable_id("evt", event_key),
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": intent},
    }
