"""Validation of charge and refund input; every invalid field is reported, nothing is written."""

import re
from dataclasses import dataclass, replace
from typing import Any

from models.enums import RefundReason
from payments.errors import InvalidAmount, PaymentErrors, PaymentsError, ValidationFailed
from payments.money import AmountLimits, check_charge_amount, normalize_currency
from payments.sensitive import contains_card_number, contains_secret

MAX_ID_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 1000
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500
# Any visible ASCII: an id the gateway does not know is a FAILED charge
# (payment_method_not_found, as Stripe answers), not an input error.
_PAYMENT_METHOD = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class ChargeInput:
    order_id: str
    amount: int
    currency: str
    payment_method_id: str
    customer_id: str
    description: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class RefundInput:
    payment_id: str
    amount: int | None = None
    reason: RefundReason | None = None


def validate_charge(charge: ChargeInput, limits: AmountLimits) -> ChargeInput:
    """The normalised input (upper-case currency), or PaymentErrors listing every problem."""
    errors: list[PaymentsError] = []
    currency = _collect(errors, lambda: normalize_currency(charge.currency))
    if currency is not None:
        _collect(errors, lambda: check_charge_amount(charge.amount, currency, limits))
    _collect(errors, lambda: _check_identifier(charge.order_id, "orderId"))
    _collect(errors, lambda: _check_identifier(charge.customer_id, "customerId"))
    _collect(errors, lambda: _check_payment_method(charge.payment_method_id))
    _collect(errors, lambda: _check_description(charge.description))
    _collect(errors, lambda: _check_metadata(charge.metadata))
    if errors:
        raise PaymentErrors(errors)
    return replace(charge, currency=currency or charge.currency)


def validate_refund(refund: RefundInput) -> None:
    if refund.amount is not None and refund.amount <= 0:
        raise InvalidAmount("A refund amount must be a positive integer.", field="amount")
    # Our own ids are random hex and may look like a card number: only the length matters.
    _check_length(refund.payment_id, "paymentId")


def _collect(errors: list[PaymentsError], check: Any) -> Any:
    try:
        return check()
    except PaymentsError as error:
        errors.append(error)
        return None


def _check_identifier(value: str, field: str) -> None:
    _check_length(value, field)
    _reject_sensitive(value, field)


def _check_length(value: str, field: str) -> None:
    if not value.strip() or len(value) > MAX_ID_LENGTH:
        raise ValidationFailed(f"{field} must be 1 to {MAX_ID_LENGTH} characters.", field=field)


def _check_payment_method(value: str) -> None:
    if len(value) > MAX_ID_LENGTH or not _PAYMENT_METHOD.match(value):
        raise ValidationFailed(
            f"paymentMethodId must be 1 to {MAX_ID_LENGTH} visible ASCII characters "
            "(a gateway payment method id such as pm_card_visa).",
            field="paymentMethodId",
        )
    _reject_sensitive(value, "paymentMethodId")


def _check_description(value: str | None) -> None:
    if value is None:
        return
    if len(value) > MAX_DESCRIPTION_LENGTH:
        raise ValidationFailed(
            f"description must be at most {MAX_DESCRIPTION_LENGTH} characters.", field="description"
        )
    _reject_sensitive(value, "description")


def _check_metadata(metadata: dict[str, Any] | None) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_KEYS:
        raise ValidationFailed(
            f"metadata must be an object with at most {MAX_METADATA_KEYS} keys.", field="metadata"
        )
    for key, value in metadata.items():
        _check_metadata_entry(key, value)


def _check_metadata_entry(key: str, value: Any) -> None:
    if not 1 <= len(key) <= MAX_METADATA_KEY_LENGTH:
        raise ValidationFailed(
            f"metadata keys must be 1 to {MAX_METADATA_KEY_LENGTH} characters.", field="metadata"
        )
    if not isinstance(value, str | int | float | bool) or value is None:
        raise ValidationFailed("metadata values must be strings or numbers.", field="metadata")
    if len(str(value)) > MAX_METADATA_VALUE_LENGTH:
        raise ValidationFailed(
            f"metadata values must be at most {MAX_METADATA_VALUE_LENGTH} characters.",
            field="metadata",
        )
    _reject_sensitive(f"{key} {value}", "metadata")


def _reject_sensitive(value: str, field: str) -> None:
    if contains_card_number(value):
        raise ValidationFailed(f"{field} must not contain a card number.", field=field)
    if contains_secret(value):
        raise ValidationFailed(f"{field} must not contain a secret or token.", field=field)
