"""Every outbox event onto KAFKA_TOPIC, in version order per payment, marked once acknowledged."""

import asyncio
import contextlib
import json
import logging
import os
import time
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from itertools import groupby

import asyncpg
import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from tortoise.expressions import Q

from models.outbox import OutboxEvent
from payments.outbox.events import OUTBOX_CHANNEL
from payments.shared import metrics
from payments.shared.settings import Settings

log = structlog.get_logger(__name__)

# Payments whose oldest unpublished events one pass takes (each with all its later ones).
PUBLISH_BATCH = 500
# Events the relay has not fanned out yet wait for it: Kafka never holds a row the relay
# claims with SKIP LOCKED, so publishing can never delay an HTTP delivery.
UNPUBLISHED = Q(kafka_published_at__isnull=True, relayed_at__isnull=False)
# What a record is made of (not the live feed's `state`), and what holds it back.
_SENT_FIELDS = ("id", "payment_id", "version", "type", "payload", "relayed_at")
# A message the broker has not acknowledged by then fails (librdkafka's delivery report).
DELIVERY_TIMEOUT_MS = 10_000
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 10.0
# The relay marks a committed event relayed a few milliseconds after the NOTIFY that wakes
# both: the publisher gives it that long before it looks.
SETTLE_SECONDS = 0.05
# Without NOTIFY (SQLite: `payments dev`) the publisher looks this often instead.
POLL_WITHOUT_NOTIFY_SECONDS = 0.1
GAUGE_EVERY_SECONDS = 5.0
# One publisher at a time across every worker process and machine (a PostgreSQL advisory
# lock held by its connection): two would interleave one payment's versions on the topic.
PUBLISHER_LOCK_KEY = 0x7061796B61666B61
STANDBY_SECONDS = 2.0
PUBLISHER_NAME = "payments kafka publisher"


class EventsNotAcknowledged(Exception):
    """The broker did not acknowledge some events; they stay unpublished and are sent again."""


def new_producer(
    bootstrap_servers: str, delivery_timeout_ms: int = DELIVERY_TIMEOUT_MS
) -> Producer:
    """A plain producer: no idempotence (order per payment comes from `send_runs`)."""
    return Producer(
        {
            "bootstrap.servers": bootstrap_servers,
            "client.id": "payments-outbox",
            "acks": "all",
            "enable.idempotence": False,
            "message.timeout.ms": delivery_timeout_ms,
            "linger.ms": 5,
            # librdkafka's own lines (a broker gone, back) as the service's JSON log lines.
            "logger": logging.getLogger("librdkafka"),
        }
    )


async def publish_pending(producer: Producer, topic: str) -> int:
    """Publish one batch of unpublished events and mark those the broker acknowledged.

    Marked only after the acknowledgement: a crash in between sends them again
    (at least once). Raises EventsNotAcknowledged, after marking the acknowledged ones,
    when some were not; a payment's later versions are then not sent at all.
    """
    runs = await unpublished_runs(PUBLISH_BATCH)
    acknowledged, failure = await send_runs(producer, topic, runs)
    if acknowledged:
        now = datetime.now(UTC)
        await OutboxEvent.filter(id__in=acknowledged).update(kafka_published_at=now)
        metrics.KAFKA_PUBLISHED.inc(len(acknowledged))
    if failure is not None:
        raise EventsNotAcknowledged(failure)
    return len(acknowledged)


async def unpublished_runs(payments: int) -> list[list[OutboxEvent]]:
    """Per payment among the `payments` with the oldest unpublished events, those events.

    Each run holds a payment's unpublished versions in order, up to the first the relay
    has not taken yet: whatever the clocks that stamped `created_at`, no version is
    published before an earlier one.
    """
    oldest = OutboxEvent.filter(UNPUBLISHED).order_by("created_at").limit(payments)
    payment_ids = set(await oldest.values_list("payment_id", flat=True))
    if not payment_ids:
        return []
    pending = OutboxEvent.filter(kafka_published_at__isnull=True, payment_id__in=payment_ids)
    events = await pending.order_by("payment_id", "version").only(*_SENT_FIELDS)
    runs = []
    for _, versions in groupby(events, key=lambda event: event.payment_id):
        run = list(_while_relayed(versions))
        if run:
            runs.append(run)
    return runs


def _while_relayed(versions: Iterable[OutboxEvent]) -> Iterable[OutboxEvent]:
    for event in versions:
        if event.relayed_at is None:
            return
        yield event


async def send_runs(
    producer: Producer, topic: str, runs: Sequence[Sequence[OutboxEvent]]
) -> tuple[list[str], str | None]:
    """Send each run in order: a payment's next version only once the broker has its previous.

    Rounds of one version per payment, each sent as one batch (in a thread: librdkafka's
    flush blocks). Returns the acknowledged event ids and the first failure, after which
    nothing more is sent.
    """
    acknowledged: list[str] = []
    queues = [deque(run) for run in runs]
    while queues:
        sending = [queue.popleft() for queue in queues]
        failures = await asyncio.to_thread(_send_round, producer, topic, sending)
        acknowledged += [
            event.id for event, failure in zip(sending, failures, strict=True) if not failure
        ]
        if failure := next((failure for failure in failures if failure), None):
            return acknowledged, failure
        queues = [queue for queue in queues if queue]
    return acknowledged, None


_NOT_ACKNOWLEDGED = "no delivery report"


def _send_round(producer: Producer, topic: str, events: Sequence[OutboxEvent]) -> list[str | None]:
    """Produce the events and wait for the broker: per event, None or why it failed."""
    failures: list[str | None] = [_NOT_ACKNOWLEDGED] * len(events)

    def report(index: int, error: KafkaError | None, _: Message) -> None:
        failures[index] = None if error is None else str(error)

    for index, event in enumerate(events):
        try:
            producer.produce(
                topic,
                # The body consumers get over HTTP, byte for byte (payments/outbox/posting.py).
                json.dumps(event.payload, separators=(",", ":")).encode(),
                event.payment_id.encode(),
                headers=[
                    ("event-id", event.id.encode()),
                    ("event-type", event.type.encode()),
                    ("payment-version", str(event.version).encode()),
                ],
                on_delivery=partial(report, index),
            )
        except (KafkaException, BufferError) as exc:  # not even queued: send no more
            failures[index] = repr(exc)
            break
    # Every delivery report comes within the message timeout; past it, drop what is left
    # so that none of this round is still on its way while the next pass sends it again.
    if producer.flush(DELIVERY_TIMEOUT_MS / 1000 + 5):
        producer.purge()
        producer.flush(0)
    return failures


async def oldest_unpublished_age_seconds() -> float:
    """Age of the oldest event Kafka has not acknowledged, relayed or not (0 when none)."""
    unrelayed = Q(kafka_published_at__isnull=True, relayed_at__isnull=True)
    oldest = [
        await OutboxEvent.filter(query).order_by("created_at").first()
        for query in (UNPUBLISHED, unrelayed)
    ]
    times = [event.created_at for event in oldest if event is not None]
    return (datetime.now(UTC) - min(times)).total_seconds() if times else 0.0


class KafkaPublisher:
    """Publishes the outbox to Kafka beside the relay, in the worker's event loop.

    A broker that is down fails passes, retried with a growing pause: events wait in
    the outbox (pruning keeps them) and go out in order once it is back. Nothing here
    touches the HTTP deliveries.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.notified = settings.database_url.startswith(("postgres://", "postgresql://"))
        self.idle_seconds = settings.relay_interval_ms / 1000
        if not self.notified:
            self.idle_seconds = min(self.idle_seconds, POLL_WITHOUT_NOTIFY_SECONDS)
        self.wake = asyncio.Event()
        self._producer: Producer | None = None
        self._connection: asyncpg.Connection | None = None
        self._leading = not self.notified
        self._gauge_at = 0.0
        self._retry_in = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set: after each NOTIFY, every idle interval, or on retry."""
        while not stop.is_set():
            self.wake.clear()
            pause = await self._pass()
            if pause == 0.0:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first_of(self.wake, stop), pause)
                await asyncio.sleep(SETTLE_SECONDS)
        await self._close()

    async def _pass(self) -> float:
        """One pass (its own task, as the relay's beats); how long to wait before the next."""
        try:
            if not await self._take_turn():
                return STANDBY_SECONDS
            moved = await asyncio.create_task(self._publish())
        except (EventsNotAcknowledged, KafkaException) as exc:
            return await self._failed("broker", exc)
        except Exception as exc:
            await self._drop_connection()
            return await self._failed("database", exc)
        self._retry_in = 0.0
        # A batch's worth moved: more are likely waiting (a backlog after an outage sends
        # no NOTIFY), so the next pass starts at once.
        return 0.0 if moved >= PUBLISH_BATCH else self.idle_seconds

    async def _publish(self) -> int:
        if self._producer is None:
            self._producer = new_producer(self.settings.kafka_bootstrap_servers or "")
        try:
            return await publish_pending(self._producer, self.settings.kafka_topic)
        finally:
            # Also (above all) while the broker is down: the lag is what an alert watches.
            if time.monotonic() - self._gauge_at >= GAUGE_EVERY_SECONDS:
                self._gauge_at = time.monotonic()
                metrics.KAFKA_OLDEST_AGE.set(await oldest_unpublished_age_seconds())

    async def _failed(self, stage: str, exc: Exception) -> float:
        log.warning("kafka_publish_failed", stage=stage, error=repr(exc))
        metrics.KAFKA_FAILURES.labels(stage).inc()
        self._retry_in = min(max(self._retry_in * 2, RETRY_FIRST_SECONDS), RETRY_MAX_SECONDS)
        return self._retry_in

    async def _take_turn(self) -> bool:
        """Whether this process publishes now: it holds the lock (and listens) on PostgreSQL."""
        if not self.notified:
            return True
        if self._connection is None or self._connection.is_closed():
            self._leading = False
            # A connection of its own: the lock and the LISTEN live as long as it does. Its
            # name in pg_stat_activity says which process publishes.
            self._connection = await asyncpg.connect(
                self.settings.database_url,
                server_settings={"application_name": f"{PUBLISHER_NAME} {os.getpid()}"},
            )
            await self._connection.add_listener(OUTBOX_CHANNEL, lambda *_: self.wake.set())
        if not self._leading:
            lock = "SELECT pg_try_advisory_lock($1)"
            self._leading = bool(await self._connection.fetchval(lock, PUBLISHER_LOCK_KEY))
        return self._leading

    async def _drop_connection(self) -> None:
        self._leading = not self.notified
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close(timeout=2)
            self._connection = None

    async def _close(self) -> None:
        # Everything sent was flushed by its round: the producer has nothing left to send.
        self._producer = None
        await self._drop_connection()


async def _first_of(wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Return once either event is set."""
    waits = [asyncio.create_task(wake.wait()), asyncio.create_task(stop.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
