"""Disputes (chargebacks and inquiries) of payments, as their provider last reported them."""

from tortoise import fields
from tortoise.models import Model

from models.enums import CLOSED_DISPUTE_STATUSES, DisputeStatus
from models.ids import ID_LENGTH, new_id
from models.payment import Payment

# Stripe's and PayPal's reason codes are short words; a longer one is cut, never refused.
REASON_LENGTH = 100


def new_dispute_id() -> str:
    return new_id("dsp")


class Dispute(Model):
    id = fields.CharField(max_length=ID_LENGTH, primary_key=True, default=new_dispute_id)
    # Null while no payment of ours matches it (reported by the reconciler until one does).
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="disputes", on_delete=fields.RESTRICT, null=True
    )
    payment_id: str | None
    # The provider's name, as Payment.gateway; with provider_dispute_id unique (migration 0056).
    provider = fields.CharField(max_length=20)
    provider_dispute_id = fields.CharField(max_length=255)
    # How the provider named the disputed payment: what matches it once it is known.
    provider_payment_id = fields.CharField(max_length=255, null=True)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    reason = fields.CharField(max_length=REASON_LENGTH)
    status = fields.CharEnumField(DisputeStatus, max_length=30, db_index=True)
    evidence_due_by = fields.DatetimeField(null=True)
    funds_withdrawn = fields.BooleanField(default=False)
    funds_reinstated = fields.BooleanField(default=False)
    # When the provider's newest applied report happened: an older one never moves it back.
    reported_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "disputes"

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_DISPUTE_STATUSES
