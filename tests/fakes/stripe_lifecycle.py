"""The fake's PaymentIntent confirm, capture and cancel endpoints, with Stripe's state rules."""

import secrets
import time

from tests.fakes.stripe_ledger import (
    Json,
    ParameterError,
    StripeFailure,
    StripeLedger,
    check_method,
    invalid_request,
)

CONFIRM_PARAMS = {"payment_method", "return_url", "expand"}
CAPTURE_PARAMS = {"amount_to_capture", "expand"}
CANCEL_PARAMS = {"cancellation_reason", "expand"}
CANCEL_REASONS = {"abandoned", "duplicate", "fraudulent", "requested_by_customer"}
_CONFIRMABLE = {"requires_payment_method", "requires_confirmation"}
_CANCELABLE = {"requires_payment_method", "requires_confirmation", "requires_action"}


def confirm(ledger: StripeLedger, intent_id: str, params: Json) -> Json:
    """POST /v1/payment_intents/{id}/confirm."""
    _only(params, CONFIRM_PARAMS)
    intent = _intent(ledger, intent_id, _CONFIRMABLE, "confirm")
    check_method(params.get("payment_method"))
    redirects = intent["automatic_payment_methods"].get("allow_redirects") != "never"
    if redirects and "return_url" not in params:
        message = "A return_url is required to confirm with redirect-based payment methods."
        raise ParameterError(400, invalid_request(message, "parameter_missing", "return_url"))
    intent.update(payment_method=params["payment_method"], last_payment_error=None)
    ledger._confirm(intent)
    return ledger._render(intent, params)


def capture(ledger: StripeLedger, intent_id: str, params: Json) -> Json:
    """POST /v1/payment_intents/{id}/capture: a smaller amount releases the rest."""
    _only(params, CAPTURE_PARAMS)
    intent = _intent(ledger, intent_id, {"requires_capture"}, "capture")
    amount = int(params.get("amount_to_capture", intent["amount_capturable"]))
    if not 0 < amount <= intent["amount_capturable"]:
        message = "The amount to capture must be at most the amount capturable."
        raise StripeFailure(400, invalid_request(message, "amount_too_large", "amount_to_capture"))
    charge = ledger.charges[intent["latest_charge"]]
    charge.update(captured=True, paid=True, amount_captured=amount)
    charge.update(balance_transaction=f"txn_{secrets.token_hex(12)}")
    charge["payment_method_details"]["card"].pop("capture_before", None)
    intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
    return ledger._render(intent, params)


def cancel(ledger: StripeLedger, intent_id: str, params: Json) -> Json:
    """POST /v1/payment_intents/{id}/cancel: open intents, and holds (voided)."""
    _only(params, CANCEL_PARAMS)
    reason = params.get("cancellation_reason")
    if reason is not None and reason not in CANCEL_REASONS:
        raise ParameterError(
            400, invalid_request("Invalid cancellation_reason.", "parameter_invalid")
        )
    intent = _intent(ledger, intent_id, _CANCELABLE | {"requires_capture"}, "cancel")
    intent.update(status="canceled", canceled_at=int(time.time()), cancellation_reason=reason)
    intent["amount_capturable"] = 0
    return ledger._render(intent, params)


def _intent(ledger: StripeLedger, intent_id: str, allowed: set[str], action: str) -> Json:
    intent = ledger.retrieve_payment_intent(intent_id, {})
    intent = ledger.payment_intents[intent_id]
    if intent["status"] not in allowed:
        message = (
            f"You cannot {action} this PaymentIntent because it has a status of {intent['status']}."
        )
        raise StripeFailure(400, invalid_request(message, "payment_intent_unexpected_state"))
    return intent


def _only(params: Json, allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            message = f"Received unknown parameter: {name}"
            raise ParameterError(400, invalid_request(message, "parameter_unknown", name))
