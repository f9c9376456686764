"""After a fault heals, each open delivery whose message it may have lost is sent again, once."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from models.enums import DeliveryStatus
from models.outbox import OutboxDelivery, OutboxEvent
from payments.outbox.relay import sweep_after_fault

pytestmark = pytest.mark.usefixtures("database_url")


async def _delivery(
    consumer: str,
    enqueued_at: datetime,
    next_attempt_at: datetime | None,
    status: DeliveryStatus = DeliveryStatus.ENQUEUED,
) -> int:
    payment_id = uuid.uuid4().hex
    event = await OutboxEvent.create(
        payment_id=payment_id, version=1, type="t", payload={}, relayed_at=enqueued_at
    )
    delivery = await OutboxDelivery.create(
        event=event,
        consumer=consumer,
        payment_id=payment_id,
        version=1,
        status=status,
        enqueued_at=enqueued_at,
        next_attempt_at=next_attempt_at,
    )
    return int(delivery.id)


async def test_due_deliveries_enqueued_before_the_heal_are_sent_again_once() -> None:
    """Lost and lease-expired ones come back once; newer, claimed and finished ones do not."""
    consumer = f"fault-{uuid.uuid4().hex[:8]}"
    healed_at = datetime.now(UTC)
    before, later = healed_at - timedelta(seconds=5), healed_at + timedelta(hours=1)
    lost = await _delivery(consumer, before, before)
    held = await _delivery(consumer, before, before, DeliveryStatus.PENDING)
    claimed = await _delivery(consumer, before, later)  # a batch's lease, still running
    await _delivery(consumer, healed_at + timedelta(seconds=1), healed_at)  # sent after the heal
    await _delivery(consumer, before, None, DeliveryStatus.DELIVERED)
    await _delivery(consumer, before, before, DeliveryStatus.DEAD)

    assert await sweep_after_fault([consumer], healed_at) == {consumer: [lost, held]}
    assert await sweep_after_fault([consumer], healed_at) == {}
    # The claimer died with the fault: once its lease runs out, its row is due again too.
    await OutboxDelivery.filter(id=claimed).update(next_attempt_at=before)
    assert await sweep_after_fault([consumer], healed_at) == {consumer: [claimed]}
