"""Input rules of a refund, checked before a key is claimed or a row is written."""

from dataclasses import dataclass

from models.enums import RefundReason
from models.ids import ID_LENGTH
from payments.shared.errors import InvalidAmount, NotFound
from payments.shared.input_rules import check_length, could_be_id


@dataclass(frozen=True)
class RefundInput:
    payment_id: str
    amount: int | None = None
    reason: RefundReason | None = None


def validate_refund(refund: RefundInput) -> None:
    """Raise InvalidAmount, ValidationFailed or NotFound for input no refund could be made of."""
    if refund.amount is not None and refund.amount <= 0:
        raise InvalidAmount("A refund amount must be a positive integer.", field="amount")
    # Our own ids are random hex and may look like a card number: only the length matters.
    if not refund.payment_id.strip():
        check_length(refund.payment_id, "paymentId")
    if not could_be_id(refund.payment_id, ID_LENGTH):
        raise NotFound("Payment", field="paymentId")
