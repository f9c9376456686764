"""Input rules of createPaymentIntent and confirmPayment, checked before a key is claimed."""

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from models.enums import CaptureMethod
from payments.charges.rules import check_payment_method, collect_order_errors
from payments.payment_calls.rules import check_payment_reference
from payments.shared.errors import PaymentErrors, PaymentsError, ValidationFailed
from payments.shared.input_rules import check_text
from payments.shared.money import AmountLimits

MAX_RETURN_URL_LENGTH = 2048


@dataclass(frozen=True)
class IntentInput:
    order_id: str
    amount: int
    currency: str
    customer_id: str
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    description: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class ConfirmInput:
    payment_id: str
    payment_method_id: str
    return_url: str | None = None


def validate_intent(intent: IntentInput, limits: AmountLimits) -> IntentInput:
    """The normalised input (upper-case currency), or PaymentErrors listing every problem."""
    errors: list[PaymentsError] = []
    currency = collect_order_errors(errors, intent, limits)
    if errors:
        raise PaymentErrors(errors)
    return replace(intent, currency=currency or intent.currency)


def validate_confirm(confirm: ConfirmInput) -> None:
    """ValidationFailed for a bad method or return URL; NotFound for an impossible id."""
    check_payment_method(confirm.payment_method_id)
    if confirm.return_url is not None:
        _check_return_url(confirm.return_url)
    check_payment_reference(confirm.payment_id)


def _check_return_url(value: str) -> None:
    check_text(value, "returnUrl", MAX_RETURN_URL_LENGTH)
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValidationFailed("returnUrl must be an absolute http(s) URL.", field="returnUrl")
