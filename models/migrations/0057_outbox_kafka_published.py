"""Outbox events record when Kafka acknowledged them; the unpublished ones have an index."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# Partial: only what the Kafka publisher still has to send (relayed, not yet acknowledged),
# so with Kafka running it stays as small as the publisher's backlog.
UNPUBLISHED_INDEX = """
CREATE INDEX outbox_events_kafka_unpublished ON outbox_events (created_at)
    WHERE kafka_published_at IS NULL AND relayed_at IS NOT NULL;
"""


async def add_unpublished_index(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    await client.execute_script(UNPUBLISHED_INDEX)


class Migration(migrations.Migration):
    dependencies = [("models", "0056_dispute_constraints")]

    operations = [
        ops.AddField(
            model_name="OutboxEvent", name="kafka_published_at", field=fields.DatetimeField(null=True)
        ),
        ops.RunPython(add_unpublished_index),
    ]
