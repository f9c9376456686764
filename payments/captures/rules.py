"""Input rules of capturePayment, checked before a key is claimed."""

from dataclasses import dataclass

from payments.payment_calls.rules import check_payment_reference
from payments.shared.errors import InvalidAmount


@dataclass(frozen=True)
class CaptureInput:
    payment_id: str
    # None captures everything the authorization holds.
    amount: int | None = None


def validate_capture(capture: CaptureInput) -> None:
    """InvalidAmount for a zero or negative amount; NotFound for an impossible id."""
    if capture.amount is not None and capture.amount <= 0:
        raise InvalidAmount("A capture amount must be a positive integer.", field="amount")
    check_payment_reference(capture.payment_id)
