"""Money invariants enforced by PostgreSQL itself.

Tortoise drops `Meta.constraints` when it first creates a table, so the CHECK
constraints and partial indexes live here. SQLite (the embedded `payments dev`
database) cannot add CHECK constraints to an existing table; there a single
process serialises writes and the services enforce the same rules.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

POSTGRES_CONSTRAINTS = """
ALTER TABLE payments ADD CONSTRAINT payments_amount_positive CHECK (amount > 0);
ALTER TABLE payments ADD CONSTRAINT payments_refunded_not_negative
    CHECK (amount_refunded >= 0 AND amount_refund_pending >= 0);
ALTER TABLE payments ADD CONSTRAINT payments_refunded_within_amount
    CHECK (amount_refunded + amount_refund_pending <= amount);
ALTER TABLE payments ADD CONSTRAINT payments_currency_iso CHECK (currency ~ '^[A-Z]{3}$');
ALTER TABLE payments ADD CONSTRAINT payments_version_positive CHECK (version >= 1);
ALTER TABLE refunds ADD CONSTRAINT refunds_amount_positive CHECK (amount > 0);
ALTER TABLE outbox_deliveries ADD CONSTRAINT outbox_deliveries_attempts_not_negative
    CHECK (attempts >= 0);
CREATE INDEX outbox_events_unrelayed ON outbox_events (created_at) WHERE relayed_at IS NULL;
CREATE INDEX outbox_deliveries_undelivered ON outbox_deliveries (consumer, payment_id, version)
    WHERE status IN ('PENDING', 'ENQUEUED');
CREATE UNIQUE INDEX payment_status_history_applied_version
    ON payment_status_history (payment_id, version) WHERE applied;
"""


async def add_postgres_constraints(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    if client.capabilities.dialect == "postgres":
        await client.execute_script(POSTGRES_CONSTRAINTS)


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [ops.RunPython(add_postgres_constraints)]
