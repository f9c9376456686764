"""The outbox relay's place in a worker: wired to the queue and schedule, started and stopped."""

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Any

import dramatiq
import structlog
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from payments.gateway_events.backlog import observe_webhook_backlog
from payments.live.publisher import redis_publisher
from payments.outbox.relay import Publish, Relay, RelayJobs
from payments.shared.settings import Settings
from tasks.actor_runtime import actor_runtime
from tasks.broker import current_broker
from tasks.deliveries import close_http_client, enqueue_deliveries
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
        enqueue=enqueue_deliveries,
        run_due=scheduler.run_due,
        resend_unapplied_events=resend_unapplied_stripe_events,
        observe_backlogs=observe_webhook_backlog,
    )
    return Relay(settings, jobs, publish, redis)


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
