"""Input rules every call on an existing payment shares."""

from models.ids import ID_LENGTH
from payments.shared.errors import NotFound
from payments.shared.input_rules import check_length, could_be_id


def check_payment_reference(payment_id: str) -> None:
    """ValidationFailed for a blank id; NotFound for one no stored payment could have."""
    # Our own ids are random hex and may look like a card number: only the length matters.
    if not payment_id.strip():
        check_length(payment_id, "paymentId")
    if not could_be_id(payment_id, ID_LENGTH):
        raise NotFound("Payment", field="paymentId")
