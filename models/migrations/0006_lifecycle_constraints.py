"""Captures and refunds stay within the money: PostgreSQL CHECKs over the new columns.

Refunds are now bounded by what was captured, not by the amount authorized, so the old
refund CHECK of 0002 is replaced. SQLite (`payments dev`) cannot add CHECKs to an
existing table; there the single process and the services enforce the same rules.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

POSTGRES_CONSTRAINTS = """
ALTER TABLE payments ADD CONSTRAINT payments_captured_within_amount
    CHECK (amount_captured >= 0 AND amount_captured <= amount);
ALTER TABLE payments ADD CONSTRAINT payments_capture_within_amount
    CHECK (amount_capturable >= 0 AND amount_capture_pending >= 0
           AND amount_captured + amount_capture_pending <= amount);
ALTER TABLE payments DROP CONSTRAINT payments_refunded_within_amount;
ALTER TABLE payments ADD CONSTRAINT payments_refunded_within_captured
    CHECK (amount_refunded + amount_refund_pending <= amount_captured);
"""


async def add_postgres_constraints(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    if client.capabilities.dialect == "postgres":
        await client.execute_script(POSTGRES_CONSTRAINTS)


class Migration(migrations.Migration):
    dependencies = [("models", "0005_payment_lifecycle")]

    operations = [ops.RunPython(add_postgres_constraints)]
