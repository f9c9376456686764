"""The outbox relay: claim committed events, beat on NOTIFY or an interval, sweep, redrive."""

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from redis.asyncio import Redis
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from models.enums import DeliveryStatus
from models.outbox import OutboxDelivery, OutboxEvent
from payments.outbox.destination import Destination
from payments.outbox.events import OUTBOX_CHANNEL
from payments.outbox.policy import OPEN
from payments.shared import metrics

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
GAUGE_EVERY_SECONDS = 5.0
# Bounds one beat, so a huge backlog still lets the sweep and the periodic jobs run.
MAX_BATCHES_PER_BEAT = 20
# Commits that NOTIFY within this window share one beat: at a few hundred charges a second
# a beat per commit spends more CPU on its own round trips than on the events it moves.
COALESCE_SECONDS = 0.02
# Beyond a claimed batch's lease: past it, what the batch held is due again and re-sent.
RESEND_MARGIN = timedelta(seconds=2)
# Without NOTIFY (SQLite: `payments dev`) no commit wakes the relay: it looks for new events
# this often instead, so live pushes stay within a second (sweeps keep RELAY_INTERVAL_MS).
POLL_WITHOUT_NOTIFY_SECONDS = 0.1


@dataclass(frozen=True)
class RelayConfig:
    """The settings the relay reads (RELAY_INTERVAL_MS, DELIVERY_STRANDED_AFTER_SECONDS...)."""

    database_url: str
    queue_namespace: str
    interval: timedelta
    stranded_after: timedelta
    # The longest a delivery batch may hold its rows (DeliveryPolicy.lease).
    batch_lease: timedelta


@dataclass(frozen=True)
class RelayJobs:
    """What the relay hands to the rest of the worker: the queue, the schedule, other backlogs."""

    # The enabled event endpoints, read each beat (an admin's change applies at once).
    destinations: Callable[[], Awaitable[Sequence[Destination]]]
    enqueue: Callable[[Due], Awaitable[None]]
    run_due: Callable[[], Awaitable[None]]
    # Once after a fault heals: re-apply gateway events received before it and not applied.
    resend_unapplied_events: Callable[[datetime], Awaitable[None]]
    observe_backlogs: Callable[[], Awaitable[None]]


class Relay:
    """Moves committed outbox rows onto the queue and starts the periodic jobs.

    Every failure (database or Redis down) is logged and retried on the next beat,
    so the relay resumes by itself once they are back. A fault may have taken messages
    with it (Redis restarted empty, a worker killed, a batch that could not record), so
    once it heals, and when this worker starts, every delivery enqueued before is sent
    again as soon as it is due, for one lease, and every gateway event not yet applied
    once: not after the minute-long sweeps.
    """

    def __init__(
        self,
        config: RelayConfig,
        jobs: RelayJobs,
        publish: Publish | None = None,
        redis: Redis | None = None,
    ) -> None:
        self.config = config
        self.jobs = jobs
        self.publish = publish
        self.redis = redis
        self.interval = config.interval.total_seconds()
        self.notified = config.database_url.startswith(("postgres://", "postgresql://"))
        self.idle_seconds = (
            self.interval if self.notified else min(self.interval, POLL_WITHOUT_NOTIFY_SECONDS)
        )
        self.stranded_after = config.stranded_after
        self.resend_for = config.batch_lease + RESEND_MARGIN
        self.wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._gauge_at = 0.0
        self._swept_at = 0.0
        self._faulted = True  # a worker killed before this one started leaves what a fault does
        self._healed_at: datetime | None = None
        self._resend_until = 0.0
        self._events_to_resend = False

    async def run(self, stop: asyncio.Event) -> None:
        """Beat until `stop` is set: at once after a NOTIFY, else every `idle_seconds`."""
        while not stop.is_set():
            self.wake.clear()
            try:
                await self._listen()
                if self._faulted:
                    self._heal()
                # A task per beat: whatever a failed beat leaves in its context (such as
                # the dead transaction Tortoise's own engine left when BEGIN failed, see
                # payments/platform/postgres_engine.py) dies with it, not with the worker.
                await asyncio.create_task(self.beat())
            except Exception as exc:
                log.warning("relay_beat_failed", error=repr(exc))
                self._faulted = True
                await self._drop_listener()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.idle_seconds)
                await asyncio.sleep(COALESCE_SECONDS)
        await self._drop_listener()

    async def beat(self) -> None:
        """One pass: relay new events; once an interval, also sweep and start due jobs.

        A beat woken by a commit between intervals only relays: what the sweep finds
        (deliveries stranded for DELIVERY_STRANDED_AFTER_SECONDS) cannot be that fresh.
        """
        destinations = await self.jobs.destinations()
        await self._relay_backlog(destinations)
        if time.monotonic() - self._swept_at < self.interval:
            return
        consumers = [destination.id for destination in destinations]
        self._swept_at = time.monotonic()
        if await self._broker_emptied():
            self._heal()
        await self.jobs.enqueue(await sweep_stranded(consumers, self.stranded_after))
        await self._resend_after_fault(consumers)
        if self._events_to_resend and self._healed_at is not None:
            await self.jobs.resend_unapplied_events(self._healed_at)
            self._events_to_resend = False
        if time.monotonic() - self._gauge_at >= GAUGE_EVERY_SECONDS:
            metrics.OUTBOX_OLDEST_AGE.set(await oldest_undelivered_age_seconds())
            await self.jobs.observe_backlogs()
            self._gauge_at = time.monotonic()
        await self.jobs.run_due()

    async def _relay_backlog(self, destinations: Sequence[Destination]) -> None:
        for _ in range(MAX_BATCHES_PER_BEAT):
            due, claimed = await relay_events(destinations, self.publish)
            await self.jobs.enqueue(due)
            if claimed < RELAY_BATCH:
                return  # else a full batch: more are waiting, keep going instead of sleeping

    def _heal(self) -> None:
        """A fault is over: re-send what it may have lost (deliveries, gateway events)."""
        log.info("relay_fault_healed")
        self._faulted = False
        self._healed_at = datetime.now(UTC)
        self._resend_until = time.monotonic() + self.resend_for.total_seconds()
        self._events_to_resend = True
        self._swept_at = 0.0

    async def _resend_after_fault(self, consumers: list[str]) -> None:
        if self._healed_at is None or time.monotonic() > self._resend_until:
            return
        for _ in range(MAX_BATCHES_PER_BEAT):
            due: Due = await sweep_after_fault(consumers, self._healed_at)
            await self.jobs.enqueue(due)
            if sum(map(len, due.values())) < RELAY_BATCH:
                return

    async def _broker_emptied(self) -> bool:
        """Whether Redis lost its data (restarted without it, or flushed) since the last look.

        A key without expiry marks the broker's memory; a Redis that comes back empty has
        forgotten every queued and delayed message, though no beat may have failed.
        """
        if self.redis is None:
            return False
        marker = f"{self.config.queue_namespace}:relay:broker-marker"
        return bool(await self.redis.set(marker, "1", nx=True))

    async def _listen(self) -> None:
        if not self.notified:
            return  # SQLite has no NOTIFY: polling alone drives the relay
        if self._listener is not None and not self._listener.is_closed():
            return
        # A dedicated connection: a pooled one would be handed to queries between beats.
        self._listener = await asyncpg.connect(self.config.database_url)
        await self._listener.add_listener(OUTBOX_CHANNEL, lambda *_: self.wake.set())

    async def _drop_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=2)
            self._listener = None


async def relay_events(
    destinations: Sequence[Destination], publish: Publish | None = None
) -> tuple[Due, int]:
    """Claim committed, unrelayed events and create one delivery per endpoint that wants each.

    Returns the delivery ids to enqueue, by endpoint, and how many events were claimed.
    Rows are claimed with FOR UPDATE SKIP LOCKED, so relays in several workers on several
    machines share the work (Tortoise drops the clause on SQLite, where `payments dev` is
    the only process). With no endpoint enabled, events are logged and marked relayed.
    `publish` (the live feed) gets the claimed events before they are marked relayed: if
    it fails, they stay unrelayed and are published again on the next beat (subscribers
    drop what they already have).
    """
    async with in_transaction() as connection:
        events = await _claim_unrelayed(connection)
        if not events:
            return {}, 0
        if publish is not None:
            await publish(events)
        now = datetime.now(UTC)
        deliveries = [
            OutboxDelivery(
                event_id=event.id,
                consumer=destination.id,
                payment_id=event.payment_id,
                version=event.version,
                status=DeliveryStatus.ENQUEUED,
                next_attempt_at=now,
                enqueued_at=now,
            )
            for event in events
            for destination in destinations
            if destination.wants(event.type)
        ]
        event_ids = [event.id for event in events]
        if deliveries:
            await OutboxDelivery.bulk_create(deliveries, using_db=connection)
        await OutboxEvent.filter(id__in=event_ids).using_db(connection).update(relayed_at=now)
        created = OutboxDelivery.filter(event_id__in=event_ids).using_db(connection)
        rows = await created.order_by("id").values_list("consumer", "id")
    if not destinations:
        for event in events:
            log.info("payment_event", event_id=event.id, type=event.type, payload=event.payload)
    return _by_consumer(rows), len(events)


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


async def recover(consumer: str, wants: Callable[[str], bool], since: datetime) -> int:
    """Make every relayed event since `since` that `consumer` wants and lacks due again.

    An event it never had a delivery of (filtered out then, disabled, or created before
    it) gets one; a dead one is re-opened; an open one that waits is made due. Due long
    ago, so the relay's next sweep enqueues them; the batches post each payment's in
    version order, as always. Returns how many deliveries were created or re-opened.
    """
    now = datetime.now(UTC)
    async with in_transaction() as connection:
        events = OutboxEvent.filter(created_at__gte=since, relayed_at__isnull=False)
        rows = events.using_db(connection).values_list("id", "type", "payment_id", "version")
        wanted = {row[0]: row for row in await rows if wants(row[1])}
        had = OutboxDelivery.filter(consumer=consumer, event__created_at__gte=since)
        had_rows = await had.using_db(connection).values_list("id", "event_id", "status")
        had_events = {row[1] for row in had_rows}
        missing = [
            OutboxDelivery(
                event_id=event_id,
                consumer=consumer,
                payment_id=payment_id,
                version=version,
                status=DeliveryStatus.ENQUEUED,
                next_attempt_at=_LONG_AGO,
                enqueued_at=now,
            )
            for event_id, _, payment_id, version in wanted.values()
            if event_id not in had_events
        ]
        await OutboxDelivery.bulk_create(missing, batch_size=RELAY_BATCH, using_db=connection)
        dead = [row[0] for row in had_rows if row[1] in wanted and row[2] == DeliveryStatus.DEAD]
        reopened = (
            await OutboxDelivery.filter(id__in=dead)
            .using_db(connection)
            .update(
                status=DeliveryStatus.ENQUEUED, attempts=0, dead_at=None, next_attempt_at=_LONG_AGO
            )
        )
        # Only open rows no batch holds now (a held row's lease lies ahead).
        open_ids = [row[0] for row in had_rows if row[1] in wanted and row[2] in OPEN]
        waiting = OutboxDelivery.filter(id__in=open_ids, next_attempt_at__lte=now)
        await waiting.using_db(connection).update(next_attempt_at=_LONG_AGO)
    return len(missing) + reopened


async def adopt_deliveries(old_consumer: str, consumer: str) -> int:
    """Hand the deliveries made for `old_consumer` (a name, before endpoints) to `consumer`."""
    return await OutboxDelivery.filter(consumer=old_consumer).update(consumer=consumer)


async def forget_consumer(consumer: str) -> int:
    """Delete every delivery of a deleted endpoint; how many there were."""
    return await OutboxDelivery.filter(consumer=consumer).delete()


async def list_deliveries(failed_only: bool = False, limit: int = 100) -> list[OutboxDelivery]:
    """Recent deliveries, newest first; `failed_only` keeps dead ones and open ones that failed."""
    query = OutboxDelivery.filter(FAILED_DELIVERIES) if failed_only else OutboxDelivery.all()
    return await query.order_by("-id").limit(limit)


async def prune_delivered(older_than: timedelta, kafka: bool = False) -> int:
    """Delete events older than the retention that every consumer has confirmed.

    Events with an open or dead delivery stay (a dead one can still be redriven), and
    with `kafka` those the Kafka broker has not acknowledged.
    """
    undelivered = OutboxDelivery.exclude(status=DeliveryStatus.DELIVERED).values("event_id")
    done = OutboxEvent.filter(
        created_at__lt=datetime.now(UTC) - older_than, relayed_at__isnull=False
    ).exclude(id__in=Subquery(undelivered))
    if kafka:
        done = done.filter(kafka_published_at__isnull=False)
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
