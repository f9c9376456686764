"""The hot-path row helpers read what Tortoise reads, and their row lock really holds."""

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from models.enums import PaymentStatus
from models.payment import Payment
from payments.shared.rows import fetch_rows, select_one, update_where
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
