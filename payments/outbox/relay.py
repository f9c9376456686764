"""The outbox relay's services: claim committed events, sweep lost messages, redrive, prune."""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from models.enums import DeliveryStatus
from models.outbox import OutboxDelivery, OutboxEvent
from payments.outbox.policy import OPEN

log = structlog.get_logger(__name__)

RELAY_BATCH = 200
Publish = Callable[[Sequence[OutboxEvent]], Awaitable[None]]
# Deliveries to enqueue, by consumer: each consumer's are sent in batches.
Due = dict[str, list[int]]
PRUNE_BATCH = 1000
# What `deliveries list --failed` (and the deliveries query's `failed` filter) show.
FAILED_DELIVERIES = Q(status=DeliveryStatus.DEAD) | Q(status__in=OPEN, attempts__gt=0)
# Due long ago: the relay's next sweep enqueues it.
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


async def relay_events(consumers: Collection[str], publish: Publish | None = None) -> Due:
    """Claim committed, unrelayed events and create one delivery per consumer.

    Returns the delivery ids to enqueue, by consumer. Rows are claimed with FOR UPDATE SKIP LOCKED,
    so relays in several workers on several machines share the work (Tortoise drops
    the clause on SQLite, where `payments dev` is the only process). With no consumer
    configured, events are logged and marked relayed. `publish` (the live feed) gets
    the claimed events before they are marked relayed: if it fails, they stay unrelayed
    and are published again on the next beat (subscribers drop what they already have).
    """
    async with in_transaction() as connection:
        events = await _claim_unrelayed(connection)
        if not events:
            return {}
        if publish is not None:
            await publish(events)
        now = datetime.now(UTC)
        deliveries = [
            OutboxDelivery(
                event_id=event.id,
                consumer=consumer,
                payment_id=event.payment_id,
                version=event.version,
                status=DeliveryStatus.ENQUEUED,
                next_attempt_at=now,
                enqueued_at=now,
            )
            for event in events
            for consumer in consumers
        ]
        event_ids = [event.id for event in events]
        if deliveries:
            await OutboxDelivery.bulk_create(deliveries, using_db=connection)
        await OutboxEvent.filter(id__in=event_ids).using_db(connection).update(relayed_at=now)
        created = OutboxDelivery.filter(event_id__in=event_ids).using_db(connection)
        rows = await created.order_by("id").values_list("consumer", "id")
    if not consumers:
        for event in events:
            log.info("payment_event", event_id=event.id, type=event.type, payload=event.payload)
    return _by_consumer(rows)


def _by_consumer(rows: Iterable[tuple[str, int]]) -> Due:
    due: Due = defaultdict(list)
    for consumer, delivery_id in rows:
        due[consumer].append(delivery_id)
    return dict(due)


async def _claim_unrelayed(connection: BaseDBAsyncClient) -> list[OutboxEvent]:
    query = OutboxEvent.filter(relayed_at__isnull=True).order_by("created_at").limit(RELAY_BATCH)
    return await query.select_for_update(skip_locked=True).using_db(connection)


async def sweep_stranded(consumers: Collection[str], older_than: timedelta) -> Due:
    """Open deliveries whose message should have run `older_than` ago: due again now.

    Their message was lost (Redis flushed or restarted), its worker was killed, or a
    held delivery missed its wake-up. Returns the ids to enqueue again, by consumer.
    """
    return await _due_again(consumers, Q(next_attempt_at__lt=datetime.now(UTC) - older_than))


async def sweep_after_fault(consumers: Collection[str], healed_at: datetime) -> Due:
    """Open deliveries due now whose message was sent before `healed_at`: due again, once.

    After a fault heals (the broker back empty, a worker killed, the database back
    under a batch that could not record), such a message may be gone. Each is sent
    again once, as its `enqueued_at` moves past `healed_at`; a message that was not
    lost finds its delivery claimed by the other and is skipped.
    """
    return await _due_again(
        consumers, Q(next_attempt_at__lte=datetime.now(UTC), enqueued_at__lt=healed_at)
    )


async def _due_again(consumers: Collection[str], lost: Q) -> Due:
    """Make up to RELAY_BATCH open deliveries matching `lost` due now; their ids, by consumer."""
    now = datetime.now(UTC)
    async with in_transaction() as connection:
        stale = OutboxDelivery.filter(lost, status__in=OPEN, consumer__in=list(consumers))
        batch = stale.order_by("id").limit(RELAY_BATCH).select_for_update(skip_locked=True)
        rows = [(row.consumer, row.id) for row in await batch.using_db(connection)]
        swept = OutboxDelivery.filter(id__in=[row[1] for row in rows]).using_db(connection)
        await swept.update(next_attempt_at=now, enqueued_at=now)
    return _by_consumer(rows)


async def redrive(event_id: str | None = None, delivery_id: int | None = None) -> list[int]:
    """Re-open dead deliveries (of one event, one delivery, or all) for a fresh round of attempts.

    They are made due long ago, so the relay's next sweep enqueues them.
    """
    dead = OutboxDelivery.filter(status=DeliveryStatus.DEAD)
    if event_id is not None:
        dead = dead.filter(event_id=event_id)
    if delivery_id is not None:
        dead = dead.filter(id=delivery_id)
    ids: list[int] = await dead.values_list("id", flat=True)  # type: ignore[assignment]
    await OutboxDelivery.filter(id__in=ids, status=DeliveryStatus.DEAD).update(
        status=DeliveryStatus.ENQUEUED, attempts=0, dead_at=None, next_attempt_at=_LONG_AGO
    )
    return ids


async def list_deliveries(failed_only: bool = False, limit: int = 100) -> list[OutboxDelivery]:
    """Recent deliveries, newest first; `failed_only` keeps dead ones and open ones that failed."""
    query = OutboxDelivery.filter(FAILED_DELIVERIES) if failed_only else OutboxDelivery.all()
    return await query.order_by("-id").limit(limit)


async def prune_delivered(older_than: timedelta) -> int:
    """Delete events older than the retention that every consumer has confirmed.

    Events with an open or dead delivery stay (a dead one can still be redriven).
    """
    undelivered = OutboxDelivery.exclude(status=DeliveryStatus.DELIVERED).values("event_id")
    done = OutboxEvent.filter(
        created_at__lt=datetime.now(UTC) - older_than, relayed_at__isnull=False
    ).exclude(id__in=Subquery(undelivered))
    pruned = 0
    while ids := await done.limit(PRUNE_BATCH).values_list("id", flat=True):
        pruned += await OutboxEvent.filter(id__in=ids).delete()
    return pruned


async def oldest_undelivered_age_seconds() -> float:
    """Age of the oldest event not yet relayed or with an open delivery (0 when none)."""
    unrelayed = OutboxEvent.filter(relayed_at__isnull=True)
    undelivered = OutboxEvent.filter(deliveries__status__in=OPEN)
    oldest = [await query.order_by("created_at").first() for query in (unrelayed, undelivered)]
    times = [event.created_at for event in oldest if event is not None]
    return (datetime.now(UTC) - min(times)).total_seconds() if times else 0.0
