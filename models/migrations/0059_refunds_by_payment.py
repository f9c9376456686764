"""Refunds indexed by payment: a page's and a payment's refunds are read by payment id.

Without it each of those reads scanned every refund (found by issue 31's bench: the only
foreign key without an index).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

REFUNDS_INDEX = "CREATE INDEX refunds_by_payment ON refunds (payment_id, created_at, id);"


async def add_refunds_index(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    await client.execute_script(REFUNDS_INDEX)


class Migration(migrations.Migration):
    dependencies = [("models", "0058_event_endpoints")]

    operations = [ops.RunPython(add_refunds_index)]
