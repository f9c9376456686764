"""Authorize then capture, client-confirmed intents and cancellation: the columns they need."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.enums import (
    CancellationReason,
    CaptureMethod,
    PaymentFlow,
    PaymentStatus,
    PendingOperation,
)

# Money already captured before this migration: every payment that reached SUCCEEDED.
BACKFILL_CAPTURED = """
UPDATE payments SET amount_captured = amount
WHERE status IN ('SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED');
"""


async def backfill_captured(apps: object, schema_editor: object) -> None:
    client = schema_editor.client  # type: ignore[attr-defined]
    await client.execute_script(BACKFILL_CAPTURED)


class Migration(migrations.Migration):
    dependencies = [("models", "0004_outbox_notify_trigger")]

    operations = [
        # REQUIRES_PAYMENT_METHOD is longer than the 20 characters statuses had.
        ops.AlterField(
            model_name="Payment",
            name="status",
            field=fields.CharEnumField(PaymentStatus, max_length=30, db_index=True),
        ),
        ops.AlterField(
            model_name="PaymentStatusHistory",
            name="status",
            field=fields.CharEnumField(PaymentStatus, max_length=30),
        ),
        ops.AlterField(
            model_name="PaymentStatusHistory",
            name="from_status",
            field=fields.CharEnumField(PaymentStatus, max_length=30, null=True),
        ),
        ops.AddField(
            model_name="Payment",
            name="flow",
            field=fields.CharEnumField(PaymentFlow, max_length=10, default=PaymentFlow.CHARGE),
        ),
        ops.AddField(
            model_name="Payment",
            name="capture_method",
            field=fields.CharEnumField(
                CaptureMethod, max_length=10, default=CaptureMethod.AUTOMATIC
            ),
        ),
        ops.AddField(
            model_name="Payment", name="amount_capturable", field=fields.BigIntField(default=0)
        ),
        ops.AddField(
            model_name="Payment", name="amount_captured", field=fields.BigIntField(default=0)
        ),
        ops.AddField(
            model_name="Payment", name="amount_capture_pending", field=fields.BigIntField(default=0)
        ),
        ops.AddField(
            model_name="Payment",
            name="pending_operation",
            field=fields.CharEnumField(PendingOperation, max_length=10, null=True),
        ),
        ops.AddField(
            model_name="Payment", name="confirmation_attempts", field=fields.IntField(default=0)
        ),
        ops.AddField(
            model_name="Payment", name="capture_before", field=fields.DatetimeField(null=True)
        ),
        ops.AddField(
            model_name="Payment", name="canceled_at", field=fields.DatetimeField(null=True)
        ),
        ops.AddField(
            model_name="Payment",
            name="cancellation_reason",
            field=fields.CharEnumField(CancellationReason, max_length=30, null=True),
        ),
        ops.AddField(
            model_name="Payment", name="gateway_event_at", field=fields.DatetimeField(null=True)
        ),
        ops.RunPython(backfill_captured),
    ]
