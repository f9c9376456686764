"""Customers and their saved payment methods; payments remember the gateway customer charged.

Emails are unique case-insensitively by an index on lower(email), so the database and
not a read-then-write decides which of two concurrent createCustomer calls wins.
PostgreSQL and SQLite both index expressions.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.customer import new_payment_method_id

EMAIL_INDEX = "CREATE UNIQUE INDEX customers_email_lower ON customers (lower(email));"


async def add_email_index(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    await client.execute_script(EMAIL_INDEX)


class Migration(migrations.Migration):
    dependencies = [("models", "0010_stats_and_live_indexes")]

    operations = [
        ops.CreateModel(
            name='Customer',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=255)),
                ('email', fields.CharField(max_length=254)),
                ('name', fields.CharField(null=True, max_length=255)),
                ('gateway', fields.CharField(max_length=20)),
                ('provider_customer_id', fields.CharField(null=True, unique=True, max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'customers', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PaymentMethod',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_payment_method_id, unique=True, db_index=True, max_length=40)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='payment_methods', on_delete=OnDelete.RESTRICT)),
                ('provider_payment_method_id', fields.CharField(unique=True, max_length=255)),
                ('type', fields.CharField(max_length=30)),
                ('card_brand', fields.CharField(null=True, max_length=30)),
                ('card_last4', fields.CharField(null=True, max_length=4)),
                ('card_exp_month', fields.SmallIntField(null=True)),
                ('card_exp_year', fields.SmallIntField(null=True)),
                ('is_default', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'payment_methods', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name="Payment",
            name="provider_customer_id",
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.RunPython(add_email_index),
    ]
