"""Outbox events keep the payment's row as of their version: live pushes each version's own."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0021_customer_constraints")]

    operations = [
        ops.AddField(model_name="OutboxEvent", name="state", field=fields.JSONField(null=True)),
    ]
