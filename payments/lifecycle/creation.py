"""A new payment and its first history row, written by one statement."""

from datetime import UTC, datetime
from functools import cache
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models.enums import EventSource
from models.payment import Payment
from payments.lifecycle.transitions import record_creation

_CREATE = """
WITH created AS (
    INSERT INTO payments ({columns}) VALUES ({placeholders}) RETURNING id, status, version
)
INSERT INTO payment_status_history (payment_id, status, source, version, applied, occurred_at)
SELECT id, status, $1::text, version, TRUE, $2::timestamptz FROM created"""
_FIXED_PARAMETERS = 2


async def create_payment(columns: dict[str, Any], connection: BaseDBAsyncClient) -> Payment:
    """Insert a payment (PENDING, version 1) with its first history row; no event goes out.

    One round trip on PostgreSQL where Tortoise's create and a second insert took two;
    SQLite (no INSERT inside WITH) takes those two.
    """
    payment = Payment(**columns)
    if connection.capabilities.dialect != "postgres":
        await payment.save(using_db=connection, force_create=True)
        await record_creation(payment, connection)
        return payment
    payment.created_at = payment.updated_at = now = datetime.now(UTC)
    names = tuple(sorted(Payment._meta.db_fields))
    fields = Payment._meta.fields_map
    values = [fields[name].to_db_value(getattr(payment, name), payment) for name in names]
    await connection.execute_query(_create_sql(names), [EventSource.API.value, now, *values])
    payment._saved_in_db = True  # as after create(): a later save() updates the row
    return payment


@cache
def _create_sql(names: tuple[str, ...]) -> str:
    projection = Payment._meta.fields_db_projection
    placeholders = range(_FIXED_PARAMETERS + 1, _FIXED_PARAMETERS + 1 + len(names))
    return _CREATE.format(
        columns=", ".join(projection[name] for name in names),
        placeholders=", ".join(f"${position}" for position in placeholders),
    )
