"""Idempotency keys: a fingerprint of the first request and, once done, its outcome."""

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.enums import Operation
from models.ids import ID_LENGTH


class IdempotencyKey(Model):
    id = fields.BigIntField(primary_key=True)
    principal = fields.CharField(max_length=255)
    operation = fields.CharEnumField(Operation, max_length=20)
    key = fields.CharField(max_length=255)
    fingerprint = fields.CharField(max_length=64)
    # The payment or refund this key created; set in the same transaction as the row it names.
    resource_id = fields.CharField(max_length=ID_LENGTH, null=True)
    # Error codes of a request that failed validation or business rules, replayed as-is.
    response: Any = fields.JSONField(null=True)
    completed_at = fields.DatetimeField(null=True)
    # While set and in the future, another request owns the key (IDEMPOTENCY_KEY_IN_USE).
    locked_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "idempotency_keys"
        unique_together = (("principal", "operation", "key"),)
