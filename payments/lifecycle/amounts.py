"""What a status move does to a payment's money and failure fields, whoever reports it."""

from typing import Any

from models.enums import PaymentMethodType
from models.enums import PaymentStatus as S
from models.payment import Payment
from payments.lifecycle.state_machine import CAPTURED

_FAILURE_FIELDS = ("failure_code", "failure_message")
_CLOSED = frozenset({S.FAILED, S.CANCELED})
_DECLINED = frozenset({S.FAILED, S.REQUIRES_PAYMENT_METHOD})


def implied_fields(payment: Payment, target: S) -> dict[str, Any]:
    """The fields a move to `target` implies unless the gateway reported them itself.

    An authorization holds the whole amount; a capture (without a reported amount) takes
    it all and releases nothing; a failure or cancellation releases whatever was held, as
    Stripe does; a bank transfer that succeeds has received it all. Leaving
    REQUIRES_PAYMENT_METHOD clears the last attempt's decline, as Stripe clears
    `last_payment_error`.
    """
    implied: dict[str, Any] = {}
    if target is S.AUTHORIZED:
        implied["amount_capturable"] = payment.amount
    elif target is S.SUCCEEDED and payment.status not in CAPTURED:
        implied.update(amount_captured=payment.amount, amount_capturable=0)
        implied["amount_capture_pending"] = 0
        if payment.payment_method_type is PaymentMethodType.BANK_TRANSFER:
            # Paid in full: Stripe succeeds a transfer only once nothing remains.
            implied["amount_received"] = payment.amount
    elif target in _CLOSED:
        implied.update(amount_capturable=0, amount_capture_pending=0)
    if payment.status is S.REQUIRES_PAYMENT_METHOD and target not in _DECLINED:
        implied.update(dict.fromkeys(_FAILURE_FIELDS))
    return implied
