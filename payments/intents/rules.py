"""Input rules of createPaymentIntent and confirmPayment, checked before a key is claimed."""

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from models.enums import CaptureMethod, PaymentMethodType
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
    payment_method_type: PaymentMethodType = PaymentMethodType.CARD
    # Where PayPal sends the buyer back; sent to the provider, not kept on the payment.
    return_url: str | None = None
    cancel_url: str | None = None


@dataclass(frozen=True)
class ConfirmInput:
    payment_id: str
    # None where the rail needs none (PayPal); a card payment needs one.
    payment_method_id: str | None
    return_url: str | None = None


def validate_intent(intent: IntentInput, limits: AmountLimits) -> IntentInput:
    """The normalised input (upper-case currency), or PaymentErrors listing every problem."""
    errors: list[PaymentsError] = []
    currency = collect_order_errors(errors, intent, limits)
    for name, url in (("returnUrl", intent.return_url), ("cancelUrl", intent.cancel_url)):
        if url is not None:
            try:
                _check_url(url, name)
            except ValidationFailed as error:
                errors.append(error)
    if errors:
        raise PaymentErrors(errors)
    return replace(intent, currency=currency or intent.currency)


def validate_confirm(confirm: ConfirmInput) -> None:
    """ValidationFailed for a bad method or return URL; NotFound for an impossible id."""
    if confirm.payment_method_id is not None:
        check_payment_method(confirm.payment_method_id)
    if confirm.return_url is not None:
        _check_url(confirm.return_url, "returnUrl")
    check_payment_reference(confirm.payment_id)


def _check_url(value: str, field: str) -> None:
    check_text(value, field, MAX_RETURN_URL_LENGTH)
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValidationFailed(f"{field} must be an absolute http(s) URL.", field=field)
