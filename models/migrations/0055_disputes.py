"""Disputes as records of their own; payments say whether one is open and how much is disputed."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.dispute import new_dispute_id
from models.enums import DisputeStatus


class Migration(migrations.Migration):
    dependencies = [("models", "0031_payment_rails")]

    operations = [
        ops.CreateModel(
            name="Dispute",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_dispute_id, unique=True, db_index=True, max_length=40)),
                ("payment", fields.ForeignKeyField("models.Payment", source_field="payment_id", db_constraint=True, to_field="id", related_name="disputes", on_delete=OnDelete.RESTRICT, null=True)),
                ("provider", fields.CharField(max_length=20)),
                ("provider_dispute_id", fields.CharField(max_length=255)),
                ("provider_payment_id", fields.CharField(null=True, max_length=255)),
                ("amount", fields.BigIntField()),
                ("currency", fields.CharField(max_length=3)),
                ("reason", fields.CharField(max_length=100)),
                ("status", fields.CharEnumField(DisputeStatus, db_index=True, max_length=30)),
                ("evidence_due_by", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("funds_withdrawn", fields.BooleanField(default=False)),
                ("funds_reinstated", fields.BooleanField(default=False)),
                ("reported_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("closed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "disputes", "app": "models", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.AddField(model_name="Payment", name="disputed", field=fields.BooleanField(default=False)),
        ops.AddField(
            model_name="Payment", name="amount_disputed", field=fields.BigIntField(default=0)
        ),
    ]
