"""The outbox relay in every worker: woken by NOTIFY after commits, sweeping on an interval."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import dramatiq
import structlog
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware
from redis.asyncio import Redis

from payments.gateway_events.backlog import observe_webhook_backlog
from payments.live.publisher import redis_publisher
from payments.outbox.events import OUTBOX_CHANNEL
from payments.outbox.policy import DeliveryPolicy
from payments.outbox.relay import (
    RELAY_BATCH,
    Due,
    Publish,
    oldest_undelivered_age_seconds,
    relay_events,
    sweep_after_fault,
    sweep_stranded,
)
from payments.shared import metrics
from payments.shared.settings import Settings
from tasks.broker import current_broker
from tasks.deliveries import close_http_client, enqueue_deliveries
from tasks.in_process import InProcessBroker
from tasks.runtime import actor_runtime
from tasks.schedule import Scheduler
from tasks.stripe_events import resend_unapplied_stripe_events

log = structlog.get_logger(__name__)

GAUGE_EVERY_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 10.0
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


class Relay:
    """Moves committed outbox rows onto the queue and starts the periodic jobs.

    Every failure (database or Redis down) is logged and retried on the next beat,
    so the relay resumes by itself once they are back. A fault may have taken messages
    with it (Redis restarted empty, a worker killed, a batch that could not record), so
    once it heals, and when this worker starts, every delivery enqueued before is sent
    again as soon as it is due, for one lease, and every Stripe event not yet applied
    once: not after the minute-long sweeps.
    """

    def __init__(
        self,
        settings: Settings,
        scheduler: Scheduler,
        publish: Publish | None = None,
        redis: Redis | None = None,
    ) -> None:
        self.settings = settings
        self.scheduler = scheduler
        self.publish = publish
        self.redis = redis
        self.interval = settings.relay_interval_ms / 1000
        self.notified = settings.database_url.startswith(("postgres://", "postgresql://"))
        self.idle_seconds = (
            self.interval if self.notified else min(self.interval, POLL_WITHOUT_NOTIFY_SECONDS)
        )
        self.stranded_after = timedelta(seconds=settings.delivery_stranded_after_seconds)
        self.resend_for = DeliveryPolicy.from_settings(settings).lease + RESEND_MARGIN
        self.wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._gauge_at = 0.0
        self._swept_at = 0.0
        self._faulted = True  # a worker killed before this one started leaves what a fault does
        self._healed_at: datetime | None = None
        self._resend_until = 0.0
        self._stripe_events_to_resend = False

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
                # payments/shared/postgres_engine.py) dies with it, not with the worker.
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
        consumers = list(self.settings.consumers)
        await self._relay_backlog(consumers)
        if time.monotonic() - self._swept_at < self.interval:
            return
        self._swept_at = time.monotonic()
        if await self._broker_emptied():
            self._heal()
        await enqueue_deliveries(await sweep_stranded(consumers, self.stranded_after))
        await self._resend_after_fault(consumers)
        if self._stripe_events_to_resend and self._healed_at is not None:
            await resend_unapplied_stripe_events(self._healed_at)
            self._stripe_events_to_resend = False
        if time.monotonic() - self._gauge_at >= GAUGE_EVERY_SECONDS:
            metrics.OUTBOX_OLDEST_AGE.set(await oldest_undelivered_age_seconds())
            await observe_webhook_backlog()
            self._gauge_at = time.monotonic()
        await self.scheduler.run_due()

    async def _relay_backlog(self, consumers: list[str]) -> None:
        # A full batch means more are waiting: keep going instead of sleeping a beat.
        full_batch = RELAY_BATCH * len(consumers)
        for _ in range(MAX_BATCHES_PER_BEAT):
            due: Due = await relay_events(consumers, self.publish)
            await enqueue_deliveries(due)
            if not consumers or sum(map(len, due.values())) < full_batch:
                return

    def _heal(self) -> None:
        """A fault is over: re-send what it may have lost (deliveries, Stripe events)."""
        log.info("relay_fault_healed")
        self._faulted = False
        self._healed_at = datetime.now(UTC)
        self._resend_until = time.monotonic() + self.resend_for.total_seconds()
        self._stripe_events_to_resend = True
        self._swept_at = 0.0

    async def _resend_after_fault(self, consumers: list[str]) -> None:
        if self._healed_at is None or time.monotonic() > self._resend_until:
            return
        for _ in range(MAX_BATCHES_PER_BEAT):
            due: Due = await sweep_after_fault(consumers, self._healed_at)
            await enqueue_deliveries(due)
            if sum(map(len, due.values())) < RELAY_BATCH:
                return

    async def _broker_emptied(self) -> bool:
        """Whether Redis lost its data (restarted without it, or flushed) since the last look.

        A key without expiry marks the broker's memory; a Redis that comes back empty has
        forgotten every queued and delayed message, though no beat may have failed.
        """
        if self.redis is None:
            return False
        marker = f"{self.settings.queue_namespace}:relay:broker-marker"
        return bool(await self.redis.set(marker, "1", nx=True))

    async def _listen(self) -> None:
        if not self.notified:
            return  # SQLite has no NOTIFY: polling alone drives the relay
        if self._listener is not None and not self._listener.is_closed():
            return
        # A dedicated connection: a pooled one would be handed to queries between beats.
        self._listener = await asyncpg.connect(self.settings.database_url)
        await self._listener.add_listener(OUTBOX_CHANNEL, lambda *_: self.wake.set())

    async def _drop_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=2)
            self._listener = None


def build_relay(settings: Settings, publish: Publish | None = None) -> Relay:
    """A relay whose scheduler elects one worker per job through this process's Redis.

    Committed changes are published to Redis for the API processes' live subscribers
    (or to `publish`, the API's own hub, in `payments dev`).
    """
    redis = actor_runtime().redis
    scheduler = Scheduler(current_broker(), redis, settings.queue_namespace)
    if publish is None and redis is not None:
        publish = redis_publisher(redis, settings.queue_namespace)
    return Relay(settings, scheduler, publish, redis)


class RelayMiddleware(Middleware):
    """Runs the relay on each worker's event loop, beside the actors, once Tortoise is open."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop: asyncio.Event | None = None
        self._running: Future[None] | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        loop = _loop()
        self._stop = asyncio.Event()
        relay = build_relay(self.settings)
        self._running = asyncio.run_coroutine_threadsafe(relay.run(self._stop), loop)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        # Stop relaying first; in-flight actors finish while Dramatiq joins its threads.
        if self._stop is None or self._running is None:
            return
        _loop().call_soon_threadsafe(self._stop.set)
        try:
            self._running.result(timeout=STOP_TIMEOUT_SECONDS)
        except Exception as exc:
            log.warning("relay_stop_failed", error=repr(exc))

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        asyncio.run_coroutine_threadsafe(close_http_client(), _loop()).result(timeout=5)


@asynccontextmanager
async def in_process_worker(
    broker: InProcessBroker, settings: Settings, publish: Publish | None = None
) -> AsyncIterator[None]:
    """`payments dev`: the actors and the relay run as tasks of the API's own event loop."""
    broker.start(asyncio.get_running_loop())
    stop = asyncio.Event()
    relay = asyncio.create_task(build_relay(settings, publish).run(stop))
    try:
        yield
    finally:
        stop.set()
        await relay
        await broker.stop()
        await close_http_client()


def _loop() -> asyncio.AbstractEventLoop:
    thread = get_event_loop_thread()
    if thread is None:
        raise RuntimeError("RelayMiddleware needs the AsyncIO middleware")
    loop: asyncio.AbstractEventLoop = thread.loop
    return loop
