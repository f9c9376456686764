"""A payment as of one version, kept with that version's outbox event for the live feed."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from tortoise.fields import Field, JSONField
from tortoise.models import Model

from models.payment import Payment, Refund

# Where a state keeps the payment's refunds as they were at its version.
REFUNDS = "refunds"
# What the Refund type shows of a refund: all a state keeps of one.
REFUND_FIELDS = ("id", "amount", "status", "reason", "created_at")
# The order a payment's refunds are listed in, in a state as by payments.reads.
REFUND_ORDER = ("created_at", "id")
# Left out of every state: the owner's secret does not change from one version to the next,
# and a state stays in the outbox for days and crosses Redis to every API process.
UNKEPT_COLUMNS = frozenset({"client_secret"})

Row = TypeVar("Row", bound=Model)


@dataclass(frozen=True)
class PaymentVersion:
    """A payment as of one version, with its refunds then.

    `refunds` is None for a version whose event did not keep them (written before they
    were kept, or a payment read as it is now): whoever shows it reads the current ones.
    """

    payment: Payment
    refunds: list[Refund] | None = None

    @property
    def id(self) -> str:
        return str(self.payment.id)

    @property
    def version(self) -> int:
        return self.payment.version


def state_of(payment: Payment, refunds: Sequence[Refund] | None) -> dict[str, Any]:
    """The payment's columns as they are now (but the client secret), and its refunds, as JSON.

    None for `refunds` leaves them for the caller to add (a statement that reads them).
    """
    columns = [name for name in Payment._meta.db_fields if name not in UNKEPT_COLUMNS]
    state = _json_values(payment, columns)
    if refunds is not None:
        state[REFUNDS] = [_json_values(refund, REFUND_FIELDS) for refund in refunds]
    return state


def version_of(state: dict[str, Any]) -> PaymentVersion:
    """The (unsaved, read-only) payment and refunds a `state_of` describes."""
    payment = _row_as_of(Payment, state)
    refunds = state.get(REFUNDS)
    if refunds is None:
        return PaymentVersion(payment)
    return PaymentVersion(payment, [_row_as_of(Refund, refund) for refund in refunds])


def _row_as_of(model: type[Row], values: dict[str, Any]) -> Row:
    # The model parses each value. Columns missing or null take their defaults (a model
    # refuses a null for a column that cannot hold one, such as an unsaved row's
    # `updated_at`).
    columns = model._meta.db_fields
    return model(
        **{name: value for name, value in values.items() if name in columns and value is not None}
    )


def _json_values(row: Model, names: Sequence[str]) -> dict[str, Any]:
    fields = row._meta.fields_map
    return {name: _json_value(row, fields[name], getattr(row, name)) for name in names}


def _json_value(row: Model, field: Field[Any], value: Any) -> Any:
    # A JSON column is kept as its text, which the model parses back: a JSON string stays one.
    if isinstance(field, JSONField):
        return field.to_db_value(value, row)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value
