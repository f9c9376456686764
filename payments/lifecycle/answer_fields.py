"""The payment fields a gateway's answer sets, whichever call or sweep received it."""

from typing import Any

from payments.gateways.base import ChargeResult

# Reported only where they apply; when absent the move's own rule (amounts.py) decides.
_REPORTED_WHEN_SET = (
    # A request Stripe refused outright created no PaymentIntent: no id, not "".
    "provider_payment_id",
    # Kept from the answers that had them (a capture's answer has no card or secret).
    "client_secret",
    "card_brand",
    "card_last4",
    "amount_capturable",
    "amount_captured",
    "capture_before",
    "canceled_at",
    "cancellation_reason",
    "amount_received",
)


def outcome_fields(result: ChargeResult) -> dict[str, Any]:
    """The columns to write for `result`; the failure is always the answer's own (or none)."""
    fields: dict[str, Any] = {
        "failure_code": result.failure_code,
        "failure_message": result.failure_message,
        # What the customer has to do is the latest answer's: none once they did it.
        "next_action": result.next_action.stored() if result.next_action else None,
    }
    for name in _REPORTED_WHEN_SET:
        if getattr(result, name) not in (None, ""):
            fields[name] = getattr(result, name)
    return fields
