"""The money invariants live in PostgreSQL itself after `payments migrate`."""

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError

from tests.support import create_payment

EXPECTED_CHECKS = {
    "payments_amount_positive",
    "payments_refunded_not_negative",
    "payments_refunded_within_amount",
    "payments_currency_iso",
    "refunds_amount_positive",
}
EXPECTED_UNIQUE_INDEXES = {
    ("payments", "provider_payment_id"),
    ("refunds", "provider_refund_id"),
    ("webhook_events", "event_id"),
    ("idempotency_keys", "principal, operation, key"),
}


async def _rows(sql: str) -> list[dict]:
    return await connections.get("default").execute_query_dict(sql)


async def test_check_constraints_exist(database_url):
    """Every CHECK constraint of migration 0002 is present after migrating."""
    rows = await _rows("SELECT conname FROM pg_constraint WHERE contype = 'c'")
    assert {row["conname"] for row in rows} >= EXPECTED_CHECKS


async def test_unique_constraints_exist(database_url):
    """Unique keys on provider ids, webhook event ids and idempotency keys exist."""
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


@pytest.mark.parametrize(
    "fields",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount_refunded": 1001},
        {"currency": "usd"},
        {"amount_refunded": 600, "amount_refund_pending": 401},
    ],
    ids=["zero", "negative", "over-refunded", "lowercase-currency", "reserved-over"],
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
