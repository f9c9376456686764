"""Customers and the payment methods saved for them (only gateway ids, brand, last4, expiry)."""

from tortoise import fields
from tortoise.models import Model

from models.ids import ID_LENGTH, new_id


def new_payment_method_id() -> str:
    # Not "pm_": a saved method's id must never be mistaken for a gateway's payment method.
    return new_id("cpm")


class Customer(Model):
    # The customerId its payments carry: a non-admin principal's own `sub`.
    id = fields.CharField(max_length=255, primary_key=True)
    # Unique case-insensitively by migration 0020's index on lower(email), not by a read.
    email = fields.CharField(max_length=254)
    name = fields.CharField(max_length=255, null=True)
    gateway = fields.CharField(max_length=20)
    # Set once the gateway made its customer; a crash before that is finished lazily.
    provider_customer_id = fields.CharField(max_length=255, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    payment_methods: fields.ReverseRelation["PaymentMethod"]

    class Meta:
        table = "customers"


class PaymentMethod(Model):
    id = fields.CharField(max_length=ID_LENGTH, primary_key=True, default=new_payment_method_id)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="payment_methods", on_delete=fields.RESTRICT
    )
    customer_id: str
    # One gateway method belongs to one customer: attaching it twice finds this row.
    provider_payment_method_id = fields.CharField(max_length=255, unique=True)
    type = fields.CharField(max_length=30)
    card_brand = fields.CharField(max_length=30, null=True)
    card_last4 = fields.CharField(max_length=4, null=True)
    card_exp_month = fields.SmallIntField(null=True)
    card_exp_year = fields.SmallIntField(null=True)
    # At most one per customer: migration 0021's partial unique index.
    is_default = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payment_methods"
