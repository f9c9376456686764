"""Gateway requests the adapter tests share."""

from models.enums import CaptureMethod
from payments.gateways.base import ChargeRequest


def manual_charge(payment_id: str, amount: int = 1000) -> ChargeRequest:
    """A pm_card_visa charge with captureMethod MANUAL, keyed by our payment id."""
    return ChargeRequest(
        payment_id,
        amount,
        "USD",
        "pm_card_visa",
        "cus_1",
        None,
        f"charge-{payment_id}",
        CaptureMethod.MANUAL,
    )
