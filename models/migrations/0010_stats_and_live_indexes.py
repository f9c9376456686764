"""paymentStats reads a customer's date range from one index; live resyncs read recent events."""

from tortoise import migrations
from tortoise.migrations import operations as ops

# Covering (INCLUDE): the aggregate's columns come from the index, not from the table.
POSTGRES_INDEX = """
CREATE INDEX payments_customer_created ON payments (customer_id, created_at)
    INCLUDE (currency, status, amount, amount_captured, amount_refunded);
CREATE INDEX outbox_events_created ON outbox_events (created_at);
"""
# The outbox index serves an API process that lost its Redis subscription for a moment.
SQLITE_INDEX = """
CREATE INDEX payments_customer_created ON payments (customer_id, created_at);
CREATE INDEX outbox_events_created ON outbox_events (created_at);
"""


async def add_stats_index(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    postgres = client.capabilities.dialect == "postgres"
    await client.execute_script(POSTGRES_INDEX if postgres else SQLITE_INDEX)


class Migration(migrations.Migration):
    dependencies = [("models", "0006_lifecycle_constraints")]

    operations = [ops.RunPython(add_stats_index)]
