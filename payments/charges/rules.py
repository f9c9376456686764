"""Input rules of a charge: every invalid field is reported at once, nothing is written."""

import re
from dataclasses import dataclass, replace
from typing import Any, Protocol

from models.enums import CaptureMethod, PaymentMethodType
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
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    payment_method_type: PaymentMethodType = PaymentMethodType.CARD


class OrderFields(Protocol):
    """What every new payment states: the order, the money, the customer and notes."""

    @property
    def order_id(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def metadata(self) -> dict[str, Any] | None: ...


def validate_charge(charge: ChargeInput, limits: AmountLimits) -> ChargeInput:
    """The normalised input (upper-case currency), or PaymentErrors listing every problem."""
    errors: list[PaymentsError] = []
    currency = collect_order_errors(errors, charge, limits)
    if charge.payment_method_id is not None:
        collect(errors, lambda: check_payment_method(charge.payment_method_id or ""))
    if errors:
        raise PaymentErrors(errors)
    return replace(charge, currency=currency or charge.currency)


def collect_order_errors(
    errors: list[PaymentsError], order: OrderFields, limits: AmountLimits
) -> str | None:
    """Check the fields of a new payment into `errors`; returns the normalised currency."""
    currency = collect(errors, lambda: normalize_currency(order.currency))
    if currency is not None:
        collect(errors, lambda: check_charge_amount(order.amount, currency, limits))
    collect(errors, lambda: check_identifier(order.order_id, "orderId"))
    collect(errors, lambda: check_identifier(order.customer_id, "customerId"))
    collect(errors, lambda: check_description(order.description))
    collect(errors, lambda: check_metadata(order.metadata))
    return currency  # type: ignore[no-any-return]  # collect() returns the check's value


def check_payment_method(value: str) -> None:
    """A gateway payment method id: visible ASCII, no card number or secret."""
    if len(value) > MAX_ID_LENGTH or not _PAYMENT_METHOD.match(value):
        raise ValidationFailed(
            f"paymentMethodId must be 1 to {MAX_ID_LENGTH} visible ASCII characters "
            "(a gateway payment method id such as pm_card_visa).",
            field="paymentMethodId",
        )
    reject_sensitive(value, "paymentMethodId")
