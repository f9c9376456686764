"""Payments, their refunds and their status history."""

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from models.enums import (
    CancellationReason,
    CaptureMethod,
    EventSource,
    PaymentFlow,
    PaymentMethodType,
    PaymentStatus,
    PendingOperation,
    RefundReason,
    RefundStatus,
)
from models.ids import ID_LENGTH, new_payment_id, new_refund_id

if TYPE_CHECKING:
    from models.dispute import Dispute


class Payment(Model):
    id = fields.CharField(max_length=ID_LENGTH, primary_key=True, default=new_payment_id)
    customer_id = fields.CharField(max_length=255, db_index=True)
    order_id = fields.CharField(max_length=255, db_index=True)
    amount = fields.BigIntField()
    currency = fields.CharField(max_length=3)
    status = fields.CharEnumField(PaymentStatus, max_length=30, db_index=True)
    amount_refunded = fields.BigIntField(default=0)
    # Reserved by refunds still waiting for the gateway; counted against amountRefundable.
    amount_refund_pending = fields.BigIntField(default=0)
    # "" until a payment made by createPaymentIntent is confirmed with a method.
    payment_method_id = fields.CharField(max_length=255)
    flow = fields.CharEnumField(PaymentFlow, max_length=10, default=PaymentFlow.CHARGE)
    payment_method_type = fields.CharEnumField(
        PaymentMethodType, max_length=20, default=PaymentMethodType.CARD
    )
    # Money a bank transfer has brought in so far (the other rails: see amount_captured).
    amount_received = fields.BigIntField(default=0)
    # What the customer has to do next (a redirect, bank instructions); owner-only.
    next_action: Any = fields.JSONField(null=True)
    capture_method = fields.CharEnumField(
        CaptureMethod, max_length=10, default=CaptureMethod.AUTOMATIC
    )
    # Held by an authorization (AUTHORIZED); zero once captured, released or canceled.
    amount_capturable = fields.BigIntField(default=0)
    amount_captured = fields.BigIntField(default=0)
    # Reserved by a capture still waiting for the gateway; a second capture finds none left.
    amount_capture_pending = fields.BigIntField(default=0)
    # The gateway call under way on this payment (confirm, capture or cancel), if any.
    pending_operation = fields.CharEnumField(PendingOperation, max_length=10, null=True)
    # Confirmations tried so far; each attempt's gateway key is derived from it.
    confirmation_attempts = fields.IntField(default=0)
    capture_before = fields.DatetimeField(null=True)
    canceled_at = fields.DatetimeField(null=True)
    cancellation_reason = fields.CharEnumField(CancellationReason, max_length=30, null=True)
    # When the newest gateway event applied to this payment happened (Stripe's `created`).
    gateway_event_at = fields.DatetimeField(null=True)
    # The gateway customer whose saved method `payment_method_id` is (an off-session charge).
    provider_customer_id = fields.CharField(max_length=255, null=True)
    description = fields.TextField(null=True)
    metadata: Any = fields.JSONField(null=True)
    failure_code = fields.CharField(max_length=100, null=True)
    failure_message = fields.TextField(null=True)
    client_secret = fields.CharField(max_length=255, null=True)
    gateway = fields.CharField(max_length=20)
    provider_payment_id = fields.CharField(max_length=255, null=True, unique=True)
    card_brand = fields.CharField(max_length=30, null=True)
    card_last4 = fields.CharField(max_length=4, null=True)
    # When a dispute first opened; refunds stay refused from then on.
    disputed_at = fields.DatetimeField(null=True)
    # Whether one of its disputes is open now, and the money all of them dispute.
    disputed = fields.BooleanField(default=False)
    amount_disputed = fields.BigIntField(default=0)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    refunds: fields.ReverseRelation["Refund"]
    disputes: fields.ReverseRelation["Dispute"]
    history: fields.ReverseRelation["PaymentStatusHistory"]

    class Meta:
        table = "payments"

    @property
    def amount_refundable(self) -> int:
        if self.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED):
            return 0
        # Only captured money can go back (a partial capture released the rest).
        return int(self.amount_captured - self.amount_refunded - self.amount_refund_pending)

    @property
    def money_received(self) -> int:
        """What the payment brought in: a bank transfer's fundings so far, else its captures."""
        if self.payment_method_type is PaymentMethodType.BANK_TRANSFER:
            return int(self.amount_received)
        return int(self.amount_captured)


class Refund(Model):
    id = fields.CharField(max_length=ID_LENGTH, primary_key=True, default=new_refund_id)
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="refunds", on_delete=fields.RESTRICT
    )
    payment_id: str
    amount = fields.BigIntField()
    status = fields.CharEnumField(RefundStatus, max_length=20)
    reason = fields.CharEnumField(RefundReason, max_length=30, null=True)
    source = fields.CharEnumField(EventSource, max_length=20, default=EventSource.API)
    provider_refund_id = fields.CharField(max_length=255, null=True, unique=True)
    failure_reason = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "refunds"


class PaymentStatusHistory(Model):
    id = fields.BigIntField(primary_key=True)
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="history", on_delete=fields.CASCADE
    )
    payment_id: str
    from_status = fields.CharEnumField(PaymentStatus, max_length=30, null=True)
    status = fields.CharEnumField(PaymentStatus, max_length=30)
    source = fields.CharEnumField(EventSource, max_length=20)
    version = fields.IntField()
    # The Stripe event that caused (or was ignored against) this row, when any.
    provider_event_id = fields.CharField(max_length=255, null=True)
    applied = fields.BooleanField(default=True)
    note = fields.CharField(max_length=255, null=True)
    occurred_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "payment_status_history"
