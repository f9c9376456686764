"""Refunds indexed by payment: a page's and a payment's refunds are read by payment id.

Without it each of those reads scanned every refund (found by issue 31's bench: the only
foreign key without an index).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0058_event_endpoints")]

    operations = [
        ops.RunSQL(
            "CREATE INDEX refunds_by_payment ON refunds (payment_id, created_at, id);",
            reverse_sql="DROP INDEX refunds_by_payment;",
        )
    ]
