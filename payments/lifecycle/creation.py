"""A new payment, its first history row and a rider's write, by one statement."""

from datetime import UTC, datetime
from functools import cache
from typing import Any

from tortoise.transactions import in_transaction

from models.enums import EventSource
from models.payment import Payment
from payments.lifecycle.transitions import record_creation
from payments.shared.riders import Rider

_CREATE = """
WITH created AS (
    INSERT INTO payments ({columns}) VALUES ({placeholders}) RETURNING id, status, version
), recorded AS (
    INSERT INTO payment_status_history (payment_id, status, source, version, applied, occurred_at)
    SELECT id, status, $1::text, version, TRUE, $2::timestamptz FROM created
){rider}
SELECT count(*) FROM created"""
_FIXED_PARAMETERS = 2


async def create_payment(columns: dict[str, Any], rider: Rider) -> Payment:
    """Insert a PENDING payment, its first history row and the rider's write, or nothing.

    No event goes out (version 1 is not announced). One statement on PostgreSQL, where
    Tortoise's create, a second insert, an update and their transaction took five round
    trips; SQLite (no INSERT inside WITH) takes those, in a transaction.
    """
    payment = Payment(**columns)
    connection = Payment._meta.db
    if connection.capabilities.dialect != "postgres":
        async with in_transaction() as transaction:
            await payment.save(using_db=transaction, force_create=True)
            await record_creation(payment, transaction)
            await rider.fallback(transaction, payment.id)
        return payment
    payment.created_at = payment.updated_at = now = datetime.now(UTC)
    names = tuple(sorted(Payment._meta.db_fields))
    fields = Payment._meta.fields_map
    values = [fields[name].to_db_value(getattr(payment, name), payment) for name in names]
    step = rider.step(_FIXED_PARAMETERS + len(names) + 1, "created")
    await connection.execute_query(
        _create_sql(names, step), [EventSource.API.value, now, *values, *rider.values]
    )
    payment._saved_in_db = True  # as after create(): a later save() updates the row
    return payment


@cache
def _create_sql(names: tuple[str, ...], rider: str) -> str:
    projection = Payment._meta.fields_db_projection
    placeholders = range(_FIXED_PARAMETERS + 1, _FIXED_PARAMETERS + 1 + len(names))
    return _CREATE.format(
        columns=", ".join(projection[name] for name in names),
        placeholders=", ".join(f"${position}" for position in placeholders),
        rider=rider,
    )
