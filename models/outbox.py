"""The transactional outbox of payment events and their per-consumer delivery state."""

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.enums import DeliveryStatus
from models.ids import ID_LENGTH, new_event_id


class OutboxEvent(Model):
    id = fields.CharField(max_length=ID_LENGTH, primary_key=True, default=new_event_id)
    payment_id = fields.CharField(max_length=ID_LENGTH)
    version = fields.IntField()
    type = fields.CharField(max_length=64)
    payload: Any = fields.JSONField()
    # The payment's row as of `version`, for live subscribers (never sent to consumers);
    # null on events written before migration 0022.
    state: Any = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Set once the relay has created a delivery row per consumer and enqueued them.
    relayed_at = fields.DatetimeField(null=True, db_index=True)
    # The request (or message) that caused the change: sent on as X-Request-ID.
    request_id = fields.CharField(max_length=128, null=True)
    # Set once the broker acknowledged the event on KAFKA_TOPIC (payments/outbox/kafka.py).
    kafka_published_at = fields.DatetimeField(null=True)

    deliveries: fields.ReverseRelation["OutboxDelivery"]

    class Meta:
        table = "outbox_events"
        unique_together = (("payment_id", "version"),)


class OutboxDelivery(Model):
    id = fields.BigIntField(primary_key=True)
    event: fields.ForeignKeyRelation[OutboxEvent] = fields.ForeignKeyField(
        "models.OutboxEvent", related_name="deliveries", on_delete=fields.CASCADE
    )
    event_id: str
    consumer = fields.CharField(max_length=64)
    # Copied from the event so "is an earlier version still undelivered?" is one indexed query.
    payment_id = fields.CharField(max_length=ID_LENGTH)
    version = fields.IntField()
    status = fields.CharEnumField(DeliveryStatus, max_length=20, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    last_status_code = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    next_attempt_at = fields.DatetimeField(null=True)
    enqueued_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    dead_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox_deliveries"
        unique_together = (("event", "consumer"),)
        indexes = (("consumer", "payment_id", "version"), ("status", "enqueued_at"))
