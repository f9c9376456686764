"""Fan-out: the delivery actor, and the relay loop that feeds it and runs the periodic sweeps."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import asyncpg
import dramatiq
import httpx
import structlog
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from payments import fanout, metrics
from payments.fanout import DeliveryPolicy, Outcome
from payments.settings import Settings
from tasks.broker import current_broker
from tasks.in_process import InProcessBroker
from tasks.runtime import actor_runtime

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "payments_outbox"
# (actor name, seconds between runs); each runs in one worker at a time (a Redis lock).
PERIODIC_JOBS = [
    ("reconcile_payments", 60),
    ("requeue_stranded_stripe_events", 120),
    ("purge_idempotency_keys", 3600),
    ("prune_outbox_events", 3600),
    ("prune_webhook_events", 86400),
]
_http: httpx.AsyncClient | None = None


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    secret = settings.outbound_webhook_secret
    return DeliveryPolicy(
        consumers=settings.consumers,
        secret=secret.get_secret_value() if secret else "",
        max_attempts=settings.delivery_max_attempts,
        min_backoff_ms=settings.delivery_min_backoff_ms,
        max_backoff_ms=settings.delivery_max_backoff_ms,
    )


def _client() -> httpx.AsyncClient:
    global _http
    if _http is None:
        _http = httpx.AsyncClient(limits=httpx.Limits(max_connections=50))
    return _http


@dramatiq.actor(broker=current_broker(), queue_name="deliveries", max_retries=20)
async def deliver_event(delivery_id: int) -> None:
    """Deliver one event to one consumer; after a failure or a hold it re-sends itself later."""
    result = await fanout.deliver(delivery_id, delivery_policy(actor_runtime().settings), _client())
    if result.outcome is Outcome.RETRY:
        deliver_event.send_with_options(args=(delivery_id,), delay=result.retry_in_ms)
    if result.next_delivery_id is not None:
        deliver_event.send(result.next_delivery_id)


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=3)
async def prune_outbox_events() -> None:
    """Delete outbox events every consumer has, once older than OUTBOX_RETENTION_DAYS."""
    days = actor_runtime().settings.outbox_retention_days
    log.info("outbox_pruned", count=await fanout.prune_delivered(timedelta(days=days)))


class Relay:
    """Moves committed outbox rows onto the queue: woken by NOTIFY, and sweeping on an interval."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = delivery_policy(settings)
        self.interval = settings.relay_interval_ms / 1000
        self.stranded_after = timedelta(seconds=settings.delivery_stranded_after_seconds)
        self.wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        self._last_run: dict[str, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set; every failure is logged and retried on the next beat."""
        while not stop.is_set():
            try:
                await self._listen()
                await self.beat()
            except Exception as exc:  # the database or Redis may be down: keep beating
                log.warning("relay_beat_failed", error=repr(exc))
                await self._drop_listener()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.interval)
            self.wake.clear()
        await self._drop_listener()

    async def beat(self) -> None:
        """One pass: relay new events, re-enqueue stranded deliveries, start due jobs."""
        for delivery_id in await fanout.relay_events(self.policy):
            deliver_event.send(delivery_id)
        for delivery_id in await fanout.stranded_deliveries(self.stranded_after):
            deliver_event.send(delivery_id)
        metrics.OUTBOX_OLDEST_AGE.set(await fanout.oldest_undelivered_age_seconds())
        await self._start_due_jobs()

    async def _listen(self) -> None:
        url = self.settings.database_url
        if self._listener is not None or not url.startswith(("postgres://", "postgresql://")):
            return
        self._listener = await asyncpg.connect(url)
        await self._listener.add_listener(NOTIFY_CHANNEL, lambda *_: self.wake.set())

    async def _drop_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None

    async def _start_due_jobs(self) -> None:
        redis = actor_runtime().redis
        for name, every in PERIODIC_JOBS:
            if time.monotonic() - self._last_run.get(name, -every) < every:
                continue
            self._last_run[name] = time.monotonic()
            lock = f"{self.settings.queue_namespace}:job:{name}"
            if redis is None or await redis.set(lock, "1", nx=True, ex=every):
                current_broker().get_actor(name).send()


class RelayMiddleware(Middleware):
    """Runs the relay on each worker's event loop, next to the actors (after Tortoise opens)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop: asyncio.Event | None = None
        self._future: Any = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        loop = _loop()
        self._stop = asyncio.Event()
        relay = Relay(self.settings)
        self._future = asyncio.run_coroutine_threadsafe(relay.run(self._stop), loop)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        if self._stop is not None:
            _loop().call_soon_threadsafe(self._stop.set)
            with contextlib.suppress(Exception):
                self._future.result(timeout=10)


@asynccontextmanager
async def in_process_worker(broker: InProcessBroker, settings: Settings) -> AsyncIterator[None]:
    """`payments dev`: the actors and the relay run as tasks of the API's own event loop."""
    broker.start(asyncio.get_running_loop())
    stop = asyncio.Event()
    relay = asyncio.create_task(Relay(settings).run(stop))
    try:
        yield
    finally:
        stop.set()
        await relay
        await broker.stop()


def _loop() -> asyncio.AbstractEventLoop:
    thread = get_event_loop_thread()
    if thread is None:
        raise RuntimeError("RelayMiddleware needs the AsyncIO middleware")
    loop: asyncio.AbstractEventLoop = thread.loop
    return loop
