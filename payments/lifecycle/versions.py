"""A payment's row as of one version, kept with that version's outbox event for the live feed."""

from datetime import datetime
from enum import Enum
from typing import Any

from tortoise.fields import Field, JSONField

from models.payment import Payment


def state_of(payment: Payment) -> dict[str, Any]:
    """Every column of the payment as it is now, as JSON values."""
    fields = Payment._meta.fields_map
    return {
        name: _json_value(fields[name], getattr(payment, name)) for name in Payment._meta.db_fields
    }


def payment_as_of(state: dict[str, Any]) -> Payment:
    """The (unsaved, read-only) payment a `state_of` describes; Payment() parses each value.

    Columns the state lacks or holds as null take their defaults (Payment() refuses a null
    for a column that cannot hold one, such as an unsaved row's `updated_at`).
    """
    columns = Payment._meta.db_fields
    return Payment(
        **{name: value for name, value in state.items() if name in columns and value is not None}
    )


def _json_value(field: Field[Any], value: Any) -> Any:
    # A JSON column is kept as its text, which Payment() parses back: a JSON string stays one.
    if isinstance(field, JSONField):
        return field.to_db_value(value, Payment)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value
