"""The Kafka publisher's place in a worker or `payments dev`: started and stopped with it."""

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Any

import dramatiq
import structlog
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from payments.outbox.kafka import KafkaPublisher
from payments.shared.settings import Settings

log = structlog.get_logger(__name__)

STOP_TIMEOUT_SECONDS = 15.0


class KafkaPublisherMiddleware(Middleware):
    """Runs the Kafka publisher on each worker's event loop once Tortoise is open."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stop: asyncio.Event | None = None
        self._running: Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        thread = get_event_loop_thread()
        if thread is None:
            raise RuntimeError("KafkaPublisherMiddleware needs the AsyncIO middleware")
        self._loop, self._stop = thread.loop, asyncio.Event()
        publisher = KafkaPublisher(self.settings)
        self._running = asyncio.run_coroutine_threadsafe(publisher.run(self._stop), self._loop)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        if self._loop is None or self._stop is None or self._running is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        try:
            self._running.result(timeout=STOP_TIMEOUT_SECONDS)
        except Exception as exc:
            log.warning("kafka_publisher_stop_failed", error=repr(exc))


@asynccontextmanager
async def kafka_publishing(settings: Settings) -> AsyncIterator[None]:
    """`payments dev`: the publisher as a task of the API's loop, when Kafka is configured."""
    if not settings.kafka_enabled:
        yield
        return
    stop = asyncio.Event()
    running = asyncio.create_task(KafkaPublisher(settings).run(stop))
    try:
        yield
    finally:
        stop.set()
        await running
