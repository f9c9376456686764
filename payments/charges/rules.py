"""Input rules of a charge: every invalid field is reported at once, nothing is written."""

import re
from dataclasses import dataclass, replace
from typing import Any

from payments.shared.errors import PaymentErrors, PaymentsError, ValidationFailed
from payments.shared.input_rules import (
    MAX_ID_LENGTH,
    check_description,
    check_identifier,
    check_metadata,
    collect,
    reject_sensitive,
)
from payments.shared.money import AmountLimits, check_charge_amount, normalize_currency

# Any visible ASCII: an id the gateway does not know is a FAILED charge
# (payment_method_not_found, as Stripe answers), not an input error.
_PAYMENT_METHOD = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class ChargeInput:
    order_id: str
    amount: int
    currency: str
    # None: the customer's default saved method.
    payment_method_id: str | None
    customer_id: str
    description: str | None = None
    metadata: dict[str, Any] | None = None


def validate_charge(charge: ChargeInput, limits: AmountLimits) -> ChargeInput:
    """The normalised input (upper-case currency), or PaymentErrors listing every problem."""
    errors: list[PaymentsError] = []
    currency = collect(errors, lambda: normalize_currency(charge.currency))
    if currency is not None:
        collect(errors, lambda: check_charge_amount(charge.amount, currency, limits))
    collect(errors, lambda: check_identifier(charge.order_id, "orderId"))
    collect(errors, lambda: check_identifier(charge.customer_id, "customerId"))
    if charge.payment_method_id is not None:
        collect(errors, lambda: _check_payment_method(charge.payment_method_id or ""))
    collect(errors, lambda: check_description(charge.description))
    collect(errors, lambda: check_metadata(charge.metadata))
    if errors:
        raise PaymentErrors(errors)
    return replace(charge, currency=currency or charge.currency)


def _check_payment_method(value: str) -> None:
    if len(value) > MAX_ID_LENGTH or not _PAYMENT_METHOD.match(value):
        raise ValidationFailed(
            f"paymentMethodId must be 1 to {MAX_ID_LENGTH} visible ASCII characters "
            "(a gateway payment method id such as pm_card_visa).",
            field="paymentMethodId",
        )
    reject_sensitive(value, "paymentMethodId")
