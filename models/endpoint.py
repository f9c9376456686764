"""Event endpoints: where outgoing payment events are POSTed, each with its secret and filter."""

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.ids import ID_LENGTH, new_id

URL_LENGTH = 2048


def new_endpoint_id() -> str:
    return new_id("ep")


class EventEndpoint(Model):
    id = fields.CharField(max_length=ID_LENGTH, primary_key=True, default=new_endpoint_id)
    url = fields.CharField(max_length=URL_LENGTH)
    # Exact event types or a prefix ending in `*` (`payment.*`); ["*"] is every event.
    event_types: Any = fields.JSONField(default=lambda: ["*"])
    enabled = fields.BooleanField(default=True)
    description = fields.CharField(max_length=255, null=True)
    disabled_reason = fields.CharField(max_length=255, null=True)
    # Stored as given (whsec_...): deliveries must sign with it, and create/rotate show it once.
    secret = fields.CharField(max_length=255)
    # The secret a rotation replaced: deliveries still carry its signature until the time set.
    previous_secret = fields.CharField(max_length=255, null=True)
    previous_secret_until = fields.DatetimeField(null=True)
    # Dead-lettered deliveries since the last delivered one (ENDPOINT_DISABLE_AFTER_FAILURES).
    consecutive_dead = fields.IntField(default=0)
    # Set on the endpoints ORDER_SERVICE_URL and the like define: which variable owns it.
    configured_as = fields.CharField(max_length=32, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "event_endpoints"
