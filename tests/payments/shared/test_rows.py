"""The hot-path row helpers read what Tortoise reads, and their row lock really holds."""

from datetime import UTC, datetime

import asyncpg
import pytest
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.customer import Customer
from models.enums import (
    CancellationReason,
    PaymentStatus,
    PendingOperation,
    RefundReason,
    RefundStatus,
)
from models.payment import Payment, Refund
from payments.shared.rows import fetch_models, fetch_rows, model_from_row, select_one, update_where
from tests.support import create_payment


async def test_select_one_reads_the_row_tortoise_reads(database_url):
    created = await create_payment(metadata={"cart": "42"})
    expected = await Payment.get(id=created.id)
    found = await select_one(Payment, id=created.id)
    assert found is not None
    columns = Payment._meta.fields_db_projection
    assert {name: getattr(found, name) for name in columns} == {
        name: getattr(expected, name) for name in columns
    }
    assert found.status is PaymentStatus.SUCCEEDED and found.metadata == {"cart": "42"}


async def test_select_one_finds_nothing_for_an_unknown_key(database_url):
    assert await select_one(Payment, id="pay_unknown") is None


async def test_select_for_update_holds_the_row_lock_until_commit(database_url):
    payment = await create_payment()
    other = await asyncpg.connect(database_url)
    try:
        async with in_transaction() as connection:
            await select_one(Payment, connection, for_update=True, id=payment.id)
            with pytest.raises(asyncpg.LockNotAvailableError):
                await other.execute(
                    "SELECT 1 FROM payments WHERE id = $1 FOR UPDATE NOWAIT", payment.id
                )
        await other.execute("SELECT 1 FROM payments WHERE id = $1 FOR UPDATE NOWAIT", payment.id)
    finally:
        await other.close()


async def test_update_where_changes_only_rows_matching_every_column(database_url):
    first, second = await create_payment(), await create_payment()
    refunded = {"amount_refunded": 100, "status": PaymentStatus.PARTIALLY_REFUNDED}
    assert await update_where(Payment, refunded, id=first.id, version=99) == 0
    assert await update_where(Payment, refunded, id=first.id, version=first.version) == 1
    changed, untouched = await Payment.get(id=first.id), await Payment.get(id=second.id)
    assert (changed.amount_refunded, changed.status) == (100, PaymentStatus.PARTIALLY_REFUNDED)
    assert (untouched.amount_refunded, untouched.status) == (0, PaymentStatus.SUCCEEDED)


async def test_fetch_rows_binds_numbered_placeholders_in_order(database_url):
    payment = await create_payment()
    sql = "SELECT id FROM payments WHERE amount = $2 AND id = $1"
    assert await fetch_rows(sql, [payment.id, 1000]) == [{"id": payment.id}]
    assert await fetch_rows(sql, [payment.id, 999]) == []


async def test_models_from_rows_are_the_models_tortoise_builds(database):
    """Every column, null or set, on PostgreSQL and on SQLite: the same attributes as Tortoise's."""
    at = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
    bare = await create_payment()
    full = await create_payment(
        status=PaymentStatus.CANCELED,
        metadata={"cart": "42", "nested": [1, None]},
        next_action={"type": "REDIRECT_TO_URL", "redirect_url": "https://x.test/"},
        pending_operation=PendingOperation.CAPTURE,
        capture_before=at,
        canceled_at=at,
        cancellation_reason=CancellationReason.ABANDONED,
        gateway_event_at=at,
        disputed_at=at,
        description="a \u00e9 description",
    )
    await Refund.create(payment=full, amount=100, status=RefundStatus.SUCCEEDED)
    await Refund.create(
        payment=full, amount=1, status=RefundStatus.FAILED, reason=RefundReason.DUPLICATE
    )
    await Customer.create(id="cus-rows", email="a@example.com", gateway="simulated")
    checked: list[type[Model]] = [Payment, Refund, Customer]
    for model in checked:
        rows = await fetch_rows(f"SELECT * FROM {model._meta.db_table}", [])
        built = await fetch_models(model, f"SELECT * FROM {model._meta.db_table}", [])
        expected = [model._init_from_db(**row) for row in rows]
        assert [vars(m) for m in built] == [vars(m) for m in expected]
        assert [type(v) for m in built for v in vars(m).values()] == [
            type(v) for m in expected for v in vars(m).values()
        ]
    ids = {payment.id for payment in await fetch_models(Payment, "SELECT * FROM payments", [])}
    assert {bare.id, full.id} <= ids


async def test_a_value_no_enum_member_has_is_refused_as_tortoise_refuses_it(database_url):
    payment = await create_payment()
    (row,) = await fetch_rows("SELECT * FROM payments WHERE id = $1", [payment.id])
    row["status"] = "NOT_A_STATUS"
    with pytest.raises(ValueError, match="NOT_A_STATUS"):
        Payment._init_from_db(**row)
    with pytest.raises(ValueError, match="NOT_A_STATUS"):
        model_from_row(Payment, row, Payment._meta.db)
