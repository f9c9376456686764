"""Event endpoints as data: each with its URL, secret, event-type filter and enabled flag.

Deliveries name their endpoint in `consumer`; the index serves the per-endpoint reads of
the deliveries query and of recovery.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.endpoint import new_endpoint_id

DELIVERY_INDEX = "CREATE INDEX outbox_deliveries_by_consumer ON outbox_deliveries (consumer, id);"


async def add_delivery_index(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    await client.execute_script(DELIVERY_INDEX)


class Migration(migrations.Migration):
    dependencies = [("models", "0057_outbox_kafka_published")]

    operations = [
        ops.CreateModel(
            name='EventEndpoint',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_endpoint_id, unique=True, db_index=True, max_length=40)),
                ('url', fields.CharField(max_length=2048)),
                ('event_types', fields.JSONField()),
                ('enabled', fields.BooleanField(default=True)),
                ('description', fields.CharField(null=True, max_length=255)),
                ('disabled_reason', fields.CharField(null=True, max_length=255)),
                ('secret', fields.CharField(max_length=255)),
                ('previous_secret', fields.CharField(null=True, max_length=255)),
                ('previous_secret_until', fields.DatetimeField(null=True)),
                ('consecutive_dead', fields.IntField(default=0)),
                ('configured_as', fields.CharField(null=True, unique=True, max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'event_endpoints', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunPython(add_delivery_index),
    ]
