"""A provider's dispute is one row, and disputed money stays within what was paid.

Tortoise drops `Meta.constraints` when it creates a table, so they live here. The unique
index holds on SQLite too; SQLite cannot add CHECKs to an existing table, and there the
single process and the dispute service keep the same rules.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEXES = """
CREATE UNIQUE INDEX disputes_provider_dispute ON disputes (provider, provider_dispute_id);
CREATE INDEX disputes_by_payment ON disputes (payment_id, created_at);
CREATE INDEX disputes_unmatched ON disputes (created_at) WHERE payment_id IS NULL;
"""
POSTGRES_CONSTRAINTS = """
ALTER TABLE disputes ADD CONSTRAINT disputes_amount_not_negative CHECK (amount >= 0);
ALTER TABLE disputes ADD CONSTRAINT disputes_currency_iso CHECK (currency ~ '^[A-Z]{3}$');
ALTER TABLE disputes ADD CONSTRAINT disputes_closed_when_final
    CHECK ((closed_at IS NOT NULL) = (status IN ('WARNING_CLOSED', 'WON', 'LOST')));
ALTER TABLE disputes ADD CONSTRAINT disputes_reinstated_after_withdrawn
    CHECK (funds_withdrawn OR NOT funds_reinstated);
ALTER TABLE payments ADD CONSTRAINT payments_disputed_within_amount
    CHECK (amount_disputed >= 0 AND amount_disputed <= amount);
"""


async def add_dispute_constraints(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    await client.execute_script(INDEXES)
    if client.capabilities.dialect == "postgres":
        await client.execute_script(POSTGRES_CONSTRAINTS)


class Migration(migrations.Migration):
    dependencies = [("models", "0055_disputes")]

    operations = [ops.RunPython(add_dispute_constraints)]
