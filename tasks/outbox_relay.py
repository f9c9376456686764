"""The outbox relay's place in a worker: wired to the queue and schedule, started and stopped."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import dramatiq
import structlog
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from payments.endpoints import service as endpoints
from payments.gateway_events.backlog import observe_webhook_backlog
from payments.live.publisher import redis_publisher
from payments.outbox.destination import Destination
from payments.outbox.policy import DeliveryPolicy
from payments.outbox.relay import Publish, Relay, RelayConfig, RelayJobs
from payments.shared.settings import Settings
from tasks.actor_runtime import actor_runtime
from tasks.broker import current_broker
from tasks.deliveries import DRAIN_SECONDS, close_http_client, enqueue_deliveries
from tasks.in_process import InProcessBroker
from tasks.schedule import Scheduler
from tasks.stripe_events import resend_unapplied_stripe_events

log = structlog.get_logger(__name__)

STOP_TIMEOUT_SECONDS = 10.0


def build_relay(settings: Settings, publish: Publish | None = None) -> Relay:
    """A relay whose scheduler elects one worker per job through this process's Redis.

    Committed changes are published to Redis for the API processes' live subscribers
    (or to `publish`, the API's own hub, in `payments dev`).
    """
    redis = actor_runtime().redis
    scheduler = Scheduler(current_broker(), redis, settings.queue_namespace)
    if publish is None and redis is not None:
        publish = redis_publisher(redis, settings.queue_namespace)
    jobs = RelayJobs(
        destinations=ConfiguredEndpoints(settings).enabled,
        enqueue=enqueue_deliveries,
        run_due=scheduler.run_due,
        resend_unapplied_events=resend_unapplied_stripe_events,
        observe_backlogs=observe_webhook_backlog,
    )
    return Relay(relay_config(settings), jobs, publish, redis)


def relay_config(settings: Settings) -> RelayConfig:
    """The few settings the relay reads."""
    return RelayConfig(
        database_url=settings.database_url,
        queue_namespace=settings.queue_namespace,
        interval=timedelta(milliseconds=settings.relay_interval_ms),
        stranded_after=timedelta(seconds=settings.delivery_stranded_after_seconds),
        batch_lease=DeliveryPolicy.from_settings(settings).lease,
    )


class ConfiguredEndpoints:
    """The enabled endpoints, once those ORDER_SERVICE_URL and the like define are in place.

    Defined on the relay's first beat that reaches the database (a worker may start
    before it), then read on every beat.
    """

    def __init__(self, settings: Settings) -> None:
        secret = settings.outbound_webhook_secret
        self.named = settings.configured_endpoints
        self.secret = secret.get_secret_value() if secret else ""
        self.defined = False

    async def enabled(self) -> Sequence[Destination]:
        if not self.defined:
            await endpoints.define_configured(self.named, self.secret)
            self.defined = True
        return await endpoints.enabled_destinations()


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
        closing = asyncio.run_coroutine_threadsafe(close_http_client(), _loop())
        closing.result(timeout=DRAIN_SECONDS + 5)


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
