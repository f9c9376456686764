"""At most one default payment method per customer, decided by a partial unique index.

Tortoise drops `Meta.constraints` when it creates a table, so the index lives here.
PostgreSQL and SQLite both have partial indexes; the customer's row lock serialises
default changes, and this index makes two defaults impossible even if a path forgot it.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

ONE_DEFAULT = """
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods (customer_id) WHERE is_default;
CREATE INDEX payment_methods_by_customer ON payment_methods (customer_id, created_at);
"""


async def add_one_default_index(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    await client.execute_script(ONE_DEFAULT)


class Migration(migrations.Migration):
    dependencies = [("models", "0020_customers")]

    operations = [ops.RunPython(add_one_default_index)]
