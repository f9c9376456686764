"""Outbox events remember the request that caused them; due deliveries are found by index."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

POSTGRES_INDEXES = """
CREATE INDEX outbox_deliveries_due ON outbox_deliveries (next_attempt_at)
    WHERE status IN ('PENDING', 'ENQUEUED');
"""


async def add_postgres_indexes(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    if client.capabilities.dialect == "postgres":
        await client.execute_script(POSTGRES_INDEXES)


class Migration(migrations.Migration):
    dependencies = [("models", "0002_database_constraints")]

    operations = [
        ops.AddField(
            model_name="OutboxEvent",
            name="request_id",
            field=fields.CharField(null=True, max_length=128),
        ),
        ops.RunPython(add_postgres_indexes),
    ]
