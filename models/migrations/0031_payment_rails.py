"""Payments name their rail, the money a bank transfer brought in, and the customer's next action."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.enums import PaymentMethodType


class Migration(migrations.Migration):
    dependencies = [("models", "0030_inbox_provider_key")]

    operations = [
        ops.AddField(
            model_name="Payment",
            name="payment_method_type",
            field=fields.CharEnumField(
                PaymentMethodType, max_length=20, default=PaymentMethodType.CARD
            ),
        ),
        ops.AddField(
            model_name="Payment", name="amount_received", field=fields.BigIntField(default=0)
        ),
        ops.AddField(model_name="Payment", name="next_action", field=fields.JSONField(null=True)),
    ]
