"""The payments table's status writes: a payment created, moved fenced on its version, or not."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.enums import EventSource, PaymentStatus
from models.idempotency import IdempotencyKey
from models.payment import Payment, PaymentStatusHistory, Refund
from payments.outbox.events import EventAbout, outbox_event, write_outbox_event
from payments.outbox.versions import REFUND_FIELDS, REFUND_ORDER, REFUNDS
from payments.shared import metrics


@dataclass(frozen=True)
class KeyColumns:
    """An idempotency key that the statement writing its payment updates too.

    The key's `resource_id` becomes the written payment's id and `values` sets the key's
    other columns (IdempotencyKey's field names, as payments/idempotency/keys.py decides
    them). This module writes the UPDATE itself, from the model's column names, because
    the statement is the payment's: the key's domain hands over values, never SQL.
    """

    key: IdempotencyKey
    values: Mapping[str, Any]

    async def save(self, connection: BaseDBAsyncClient, payment_id: str) -> None:
        """The same write through the ORM, where data-modifying WITH is unavailable (SQLite)."""
        self.key.resource_id = payment_id
        for name, value in self.values.items():
            setattr(self.key, name, value)
        await self.key.save(using_db=connection, update_fields=["resource_id", *self.values])

    def step(self, first: int, source: str) -> tuple[str, list[Any]]:
        """`, keyed AS (UPDATE ...)` over the row `source` wrote; parameters from `first`."""
        names = tuple(self.values)
        fields = IdempotencyKey._meta.fields_map
        values = [fields[name].to_db_value(self.values[name], self.key) for name in names]
        return _key_step(names, first, source), [*values, self.key.id]


@cache
def _key_step(names: tuple[str, ...], first: int, source: str) -> str:
    projection = IdempotencyKey._meta.fields_db_projection
    assignments = "".join(
        f", {projection[name]} = ${position}" for position, name in enumerate(names, start=first)
    )
    return (
        f", keyed AS (UPDATE idempotency_keys SET resource_id = {source}.id{assignments}"
        f" FROM {source} WHERE idempotency_keys.id = ${first + len(names)}::bigint)"
    )


# The payment, its history row and its outbox event: one round trip instead of a lock, an
# update, two inserts and their waits (issue 18: a charge's commit had seven round trips).
_MOVE = """
WITH moved AS (
    UPDATE payments SET {assignments} WHERE id = $1 AND version = $2 RETURNING id
), recorded AS (
    INSERT INTO payment_status_history
        (payment_id, from_status, status, source, version, provider_event_id, applied, occurred_at)
    SELECT id, $3::text, $4::text, $5::text, $6::int, $7::text, TRUE, $8::timestamptz FROM moved
), announced AS (
    INSERT INTO outbox_events
        (id, payment_id, version, type, payload, state, created_at, request_id)
    SELECT $9::text, id, $6::int, $10::text, $11::jsonb, $13::jsonb || {refunds},
        $8::timestamptz, $12::text
    FROM moved
){keyed}
SELECT count(*) AS moved FROM moved"""
_MOVE_FIXED_PARAMETERS = 13


async def write_move(
    read: Payment,
    moved: Payment,
    columns: Sequence[str],
    connection: BaseDBAsyncClient,
    *,
    source: EventSource,
    provider_event_id: str | None = None,
    key: KeyColumns | None = None,
) -> bool:
    """Write an allowed move with its history row, outbox event and the key's update; count it.

    `moved`'s `columns` are written over the row only while it is still as `read`: False,
    having written nothing, when it moved since. One statement on PostgreSQL; SQLite (no
    data-modifying WITH) takes the ORM's writes, under the caller's row lock (one writer).
    """
    written = True
    if connection.capabilities.dialect == "postgres":
        written = await _move_in_one_statement(
            read, moved, (*columns, "updated_at"), connection, source, provider_event_id, key
        )
    else:
        await moved.save(using_db=connection)
        await _record(moved, connection, source, provider_event_id, from_status=read.status)
        await write_outbox_event(moved, connection)
        if key is not None:
            await key.save(connection, moved.id)
    if written:
        metrics.PAYMENTS.labels(moved.status.value, moved.currency).inc()
    return written


async def record_ignored(
    payment: Payment,
    target: PaymentStatus,
    connection: BaseDBAsyncClient,
    *,
    source: EventSource,
    provider_event_id: str | None = None,
) -> None:
    """The history row of a move the payment did not make (already past it, stale, repeated)."""
    await _record(
        payment, connection, source, provider_event_id, payment.status, target=target, applied=False
    )


async def announce_beside_status(
    payment: Payment,
    about: EventAbout,
    source: EventSource,
    connection: BaseDBAsyncClient,
    provider_event_id: str | None = None,
) -> None:
    """A change of a locked payment that keeps its status (a dispute moved), made a version.

    The caller has set the changed columns; this bumps `version` and writes them with a
    history row (noted with the event's type) and the outbox event `about` describes.
    """
    payment.version += 1
    await payment.save(using_db=connection)
    await _record(payment, connection, source, provider_event_id, payment.status, note=about.type)
    await write_outbox_event(payment, connection, about)


async def _record(
    payment: Payment,
    connection: BaseDBAsyncClient,
    source: EventSource,
    provider_event_id: str | None = None,
    from_status: PaymentStatus | None = None,
    note: str | None = None,
    *,
    target: PaymentStatus | None = None,
    applied: bool = True,
) -> None:
    # `target`: the status of a move not made (the payment stays in its own).
    await PaymentStatusHistory.create(
        payment_id=payment.id,
        from_status=from_status,
        status=target or payment.status,
        source=source,
        version=payment.version,
        provider_event_id=provider_event_id,
        applied=applied,
        note=note,
        using_db=connection,
    )


async def _move_in_one_statement(
    read: Payment,
    moved: Payment,
    columns: tuple[str, ...],
    connection: BaseDBAsyncClient,
    source: EventSource,
    provider_event_id: str | None,
    key: KeyColumns | None,
) -> bool:
    moved.updated_at = now = datetime.now(UTC)
    event = outbox_event(moved, None)  # the statement adds the refunds it sees
    values = [
        read.id,
        read.version,
        read.status.value,
        moved.status.value,
        source.value,
        moved.version,
        provider_event_id,
        now,
        event.id,
        event.type,
        _json(event, "payload"),
        event.request_id,
        _json(event, "state"),
        *_column_values(moved, columns),
    ]
    step = ""
    if key is not None:
        step, key_values = key.step(len(values) + 1, "moved")
        values += key_values
    _, rows = await connection.execute_query(_move_sql(columns, step), values)
    return bool(rows[0]["moved"])


@cache
def _move_sql(columns: tuple[str, ...], keyed: str) -> str:
    names = Payment._meta.fields_db_projection
    assignments = ", ".join(
        f"{names[column]} = ${position}"
        for position, column in enumerate(columns, start=_MOVE_FIXED_PARAMETERS + 1)
    )
    return _MOVE.format(assignments=assignments, keyed=keyed, refunds=_refunds_state())


@cache
def _refunds_state() -> str:
    # The payment's refunds as `state_of` keeps them, read by the statement that moves it.
    names = Refund._meta.fields_db_projection
    pairs = ", ".join(f"'{field}', {names[field]}" for field in REFUND_FIELDS)
    order = ", ".join(names[field] for field in REFUND_ORDER)
    return (
        f"jsonb_build_object('{REFUNDS}', (SELECT coalesce(jsonb_agg(jsonb_build_object({pairs})"
        f" ORDER BY {order}), '[]'::jsonb) FROM refunds WHERE payment_id = $1))"
    )


def _column_values(payment: Payment, columns: tuple[str, ...]) -> list[Any]:
    fields = Payment._meta.fields_map
    return [fields[name].to_db_value(getattr(payment, name), payment) for name in columns]


def _json(event: Any, column: str) -> str:
    field = type(event)._meta.fields_map[column]
    text: str = field.to_db_value(getattr(event, column), event)
    return text


_CREATE = """
WITH created AS (
    INSERT INTO payments ({columns}) VALUES ({placeholders}) RETURNING id, status, version
), recorded AS (
    INSERT INTO payment_status_history (payment_id, status, source, version, applied, occurred_at)
    SELECT id, status, $1::text, version, TRUE, $2::timestamptz FROM created
){keyed}
SELECT count(*) FROM created"""
_CREATE_FIXED_PARAMETERS = 2


async def create_payment(columns: dict[str, Any], key: KeyColumns) -> Payment:
    """Insert a PENDING payment, its first history row and the key's update, or nothing.

    No event goes out (version 1 is not announced). One statement on PostgreSQL, where
    Tortoise's create, a second insert, an update and their transaction took five round
    trips; SQLite (no INSERT inside WITH) takes those, in a transaction.
    """
    payment = Payment(**columns)
    connection = Payment._meta.db
    if connection.capabilities.dialect != "postgres":
        async with in_transaction() as transaction:
            await payment.save(using_db=transaction, force_create=True)
            await _record(payment, transaction, EventSource.API)
            await key.save(transaction, payment.id)
        return payment
    payment.created_at = payment.updated_at = now = datetime.now(UTC)
    names = tuple(sorted(Payment._meta.db_fields))
    fields = Payment._meta.fields_map
    values = [fields[name].to_db_value(getattr(payment, name), payment) for name in names]
    step, key_values = key.step(_CREATE_FIXED_PARAMETERS + len(names) + 1, "created")
    await connection.execute_query(
        _create_sql(names, step), [EventSource.API.value, now, *values, *key_values]
    )
    payment._saved_in_db = True  # as after create(): a later save() updates the row
    return payment


@cache
def _create_sql(names: tuple[str, ...], keyed: str) -> str:
    projection = Payment._meta.fields_db_projection
    placeholders = range(_CREATE_FIXED_PARAMETERS + 1, _CREATE_FIXED_PARAMETERS + 1 + len(names))
    return _CREATE.format(
        columns=", ".join(projection[name] for name in names),
        placeholders=", ".join(f"${position}" for position in placeholders),
        keyed=keyed,
    )
