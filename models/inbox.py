"""Inbound gateway webhook events, stored once per provider and event id."""

from tortoise import fields
from tortoise.models import Model

from models.enums import InboxStatus


class WebhookEvent(Model):
    id = fields.BigIntField(primary_key=True)
    provider = fields.CharField(max_length=20, default="stripe")
    event_id = fields.CharField(max_length=255)
    type = fields.CharField(max_length=100)
    # The verified raw body, kept verbatim for replay and audit.
    payload = fields.TextField()
    status = fields.CharEnumField(InboxStatus, max_length=20, default=InboxStatus.RECEIVED)
    attempts = fields.IntField(default=0)
    error = fields.TextField(null=True)
    provider_created_at = fields.DatetimeField(null=True)
    received_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    processed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook_events"
        unique_together = (("provider", "event_id"),)
        indexes = (("status", "received_at"),)
