"""Recovery re-opens exactly what an endpoint wants since a time and did not get delivered."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from models.enums import DeliveryStatus
from models.outbox import OutboxDelivery, OutboxEvent
from payments.outbox.relay import recover

pytestmark = pytest.mark.usefixtures("database_url")


async def _event(
    consumer: str, event_type: str, status: DeliveryStatus | None, created: datetime
) -> str:
    payment_id = f"pay_{uuid.uuid4().hex}"
    event = await OutboxEvent.create(
        payment_id=payment_id, version=1, type=event_type, payload={}, relayed_at=created
    )
    await OutboxEvent.filter(id=event.id).update(created_at=created)
    if status is not None:
        await OutboxDelivery.create(
            event=event,
            consumer=consumer,
            payment_id=payment_id,
            version=1,
            status=status,
            attempts=20,
            next_attempt_at=created,
        )
    return event.id


async def test_recover_sends_what_was_missed_and_nothing_else():
    """Dead, missing and waiting deliveries since `since` re-open; delivered or unwanted do not."""
    consumer, now = f"ep_{uuid.uuid4().hex[:12]}", datetime.now(UTC)
    # Types of this test's own: the session's other tests write events too.
    wanted, since = f"p{uuid.uuid4().hex[:8]}", now - timedelta(minutes=5)
    delivered = await _event(consumer, f"{wanted}.succeeded", DeliveryStatus.DELIVERED, now)
    dead = await _event(consumer, f"{wanted}.succeeded", DeliveryStatus.DEAD, now)
    never_sent = await _event(consumer, f"{wanted}.refunded", None, now)
    waiting = await _event(consumer, f"{wanted}.failed", DeliveryStatus.ENQUEUED, now)
    unwanted = await _event(consumer, f"d{wanted}.created", None, now)
    old = since - timedelta(1)
    too_old = await _event(consumer, f"{wanted}.succeeded", DeliveryStatus.DEAD, old)
    count = await recover(consumer, lambda t: t.startswith(f"{wanted}."), since)
    rows = {row.event_id: row for row in await OutboxDelivery.filter(consumer=consumer)}
    assert count == 2  # the dead one re-opened, the missing one created
    assert rows[delivered].status is DeliveryStatus.DELIVERED
    assert (rows[dead].status, rows[dead].attempts) == (DeliveryStatus.ENQUEUED, 0)
    assert rows[never_sent].status is DeliveryStatus.ENQUEUED
    # Due long ago: the relay's next sweep enqueues them.
    for event_id in (dead, never_sent, waiting):
        assert rows[event_id].next_attempt_at < since
    assert unwanted not in rows
    assert rows[too_old].status is DeliveryStatus.DEAD
