"""The money invariants live in PostgreSQL itself after `payments migrate`."""

import importlib

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError

from tests.support import create_payment

EXPECTED_CHECKS = {
    "payments_amount_positive",
    "payments_refunded_not_negative",
    "payments_refunded_within_captured",
    "payments_captured_within_amount",
    "payments_capture_within_amount",
    "payments_currency_iso",
    "refunds_amount_positive",
}
EXPECTED_UNIQUE_INDEXES = {
    ("payments", "provider_payment_id"),
    ("refunds", "provider_refund_id"),
    ("webhook_events", "provider, event_id"),
    ("idempotency_keys", "principal, operation, key"),
}


async def _rows(sql: str) -> list[dict]:
    return await connections.get("default").execute_query_dict(sql)


async def test_check_constraints_exist(database_url):
    """Every CHECK constraint of migrations 0002 and 0006 is present after migrating."""
    rows = await _rows("SELECT conname FROM pg_constraint WHERE contype = 'c'")
    assert {row["conname"] for row in rows} >= EXPECTED_CHECKS


async def test_unique_constraints_exist(database_url):
    """Unique keys on provider ids, (provider, webhook event id) and idempotency keys exist."""
    rows = await _rows(
        "SELECT t.relname AS table, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i "
        "JOIN pg_class t ON t.oid = i.indrelid WHERE i.indisunique"
    )
    found = {(row["table"], row["def"].split("(", 1)[1].rstrip(")")) for row in rows}
    assert found >= EXPECTED_UNIQUE_INDEXES


async def test_partial_indexes_exist(database_url):
    """The relay's and the delivery sweep's partial indexes (0002, 0003) are in place."""
    rows = await _rows("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    names = {row["indexname"] for row in rows}
    assert names >= {
        "outbox_events_unrelayed",
        "outbox_deliveries_undelivered",
        "outbox_deliveries_due",
        "payment_status_history_applied_version",
    }


async def test_every_foreign_key_leads_an_index(database_url):
    """A child's rows are read by their parent's id (refunds of a page): never a full scan."""
    rows = await _rows(
        "SELECT c.conrelid::regclass::text AS table, a.attname AS column FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND NOT EXISTS (SELECT 1 FROM pg_index i "
        "WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])"
    )
    assert rows == []


@pytest.mark.parametrize(
    "fields",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount_refunded": 1001},
        {"currency": "usd"},
        {"amount_refunded": 600, "amount_refund_pending": 401},
        {"amount_captured": 1001},
        {"amount_captured": -1},
        {"amount_captured": 500, "amount_refunded": 501},
        {"amount_captured": 500, "amount_refunded": 300, "amount_refund_pending": 201},
        {"amount_captured": 0, "amount_capture_pending": 1001},
    ],
    ids=[
        "zero",
        "negative",
        "over-refunded",
        "lowercase-currency",
        "reserved-over",
        "captured-over",
        "captured-negative",
        "refunded-past-captured",
        "reserved-past-captured",
        "capture-reserved-over",
    ],
)
async def test_database_rejects_broken_money(database_url, fields):
    """PostgreSQL refuses rows that break an invariant, whatever the code above it does."""
    with pytest.raises((IntegrityError, OperationalError)):
        await create_payment(**fields)


async def test_the_payment_stats_index_exists(database_url):
    """Migration 0010 leaves the (customer_id, created_at) index paymentStats reads."""
    rows = await connections.get("default").execute_query_dict(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'payments_customer_created'"
    )
    assert rows and "(customer_id, created_at)" in rows[0]["indexdef"]


async def test_old_refund_check_is_replaced_by_the_captured_one(database_url):
    """Refunds are bounded by the captured amount: a partial capture's refund cannot pass it."""
    rows = await _rows("SELECT conname FROM pg_constraint WHERE contype = 'c'")
    assert "payments_refunded_within_amount" not in {row["conname"] for row in rows}
    await create_payment(amount=1000, amount_captured=600, amount_refunded=600)
    with pytest.raises((IntegrityError, OperationalError)):
        await create_payment(amount=1000, amount_captured=600, amount_refunded=601)


async def test_backfill_counts_settled_payments_as_captured(database_url):
    """Migration 0005's backfill sets amount_captured = amount for captured statuses only."""
    migration = importlib.import_module("models.migrations.0005_payment_lifecycle")
    settled = await create_payment(amount=700, amount_captured=0)
    failed = await create_payment(amount=700, amount_captured=0, status="FAILED")
    await connections.get("default").execute_script(migration.BACKFILL_CAPTURED)
    await settled.refresh_from_db()
    await failed.refresh_from_db()
    assert (settled.amount_captured, failed.amount_captured) == (700, 0)
