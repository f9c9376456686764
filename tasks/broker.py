"""Dramatiq broker set-up: Redis in production, an in-process broker in `payments dev`."""

import asyncio
import importlib
from collections.abc import Callable, Iterable
from typing import Any

import dramatiq
import redis
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import AsyncIO

from payments.shared.settings import Settings
from tasks.in_process import InProcessBroker
from tasks.middleware import PromptPolling, RequestIdMiddleware, TortoiseMiddleware
from tasks.worker_metrics import worker_metrics_middleware

REDIS_CONNECT_TIMEOUT_SECONDS = 1.0
REDIS_SOCKET_TIMEOUT_SECONDS = 5.0
# The longest an idle worker leaves a queue unpolled: the delay a quiet queue adds.
POLL_MS = 200
# Modules that declare actors; imported only after the broker exists, because
# `dramatiq.actor` binds to the global broker at import time.
ACTOR_MODULES: list[str] = [
    "tasks.maintenance",
    "tasks.stripe_events",
    "tasks.deliveries",
]


def setup_broker(settings: Settings, *, worker: bool = False) -> dramatiq.Broker:
    """Create the global broker and declare every actor on it.

    `worker=True` also opens Tortoise on each worker's event loop (the API
    process opens it in its own lifespan instead).
    """
    existing = dramatiq.broker.global_broker
    if existing is not None and existing.actors:
        return existing  # actors are bound at import; one broker per process
    broker: dramatiq.Broker
    if settings.redis_url:
        # Dramatiq's Lua scripts expect RESP2 replies; redis-py 8 defaults to RESP3.
        # Timeouts bound how long an unreachable Redis can stall a caller (the webhook
        # route awaits its enqueue), instead of hanging on the OS's TCP defaults.
        client = redis.Redis.from_url(
            settings.redis_url,
            protocol=2,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
            socket_timeout=REDIS_SOCKET_TIMEOUT_SECONDS,
        )
        broker = RedisBrokerThatReconnects(client=client, namespace=settings.queue_namespace)  # type: ignore[no-untyped-call]
        broker.add_middleware(AsyncIODyingWithTheProcess())
    else:
        broker = InProcessBroker()
    if worker:
        broker.add_middleware(
            TortoiseMiddleware(settings.database_url, settings.database_pool_size)
        )
        broker.add_middleware(PromptPolling(POLL_MS))
        port = settings.worker_metrics_port
        if port is not None:
            broker.add_middleware(worker_metrics_middleware(settings.worker_metrics_host, port))
    broker.add_middleware(RequestIdMiddleware())
    dramatiq.set_broker(broker)
    for module in ACTOR_MODULES:
        importlib.import_module(module)
    return broker


class RedisBrokerThatReconnects(RedisBroker):
    """Dramatiq's Redis broker, every command of which reports a lost Redis as ConnectionClosed.

    Dramatiq's consumer thread survives ConnectionClosed (it restarts its consumer a
    second later) but not the raw redis error that a delayed message's re-enqueue or a
    requeue raises: that thread died, and its queue's delayed retries with it, until the
    worker was restarted. What such a thread held in memory is sent again by the relay.
    """

    def _dispatch(self, command: str) -> Callable[..., Any]:
        dispatch = super()._dispatch(command)  # type: ignore[no-untyped-call]

        def reporting_lost_redis(queue_name: str, *args: Any) -> Any:
            try:
                return dispatch(queue_name, *args)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise ConnectionClosed(exc) from exc  # type: ignore[no-untyped-call]

        return reporting_lost_redis


async def send_off_loop(
    actor: dramatiq.Actor[Any, Any], messages: Iterable[tuple[Any, ...]], delay: int | None = None
) -> None:
    """Enqueue one message per argument tuple, from a thread.

    The broker's Redis client blocks: on the event loop, each round trip would stall every
    request or actor sharing it. `to_thread` carries the context (the request id) along.
    """
    await asyncio.to_thread(_send_each, actor, list(messages), delay)


def _send_each(
    actor: dramatiq.Actor[Any, Any], messages: list[tuple[Any, ...]], delay: int | None
) -> None:
    for args in messages:
        actor.send_with_options(args=args, delay=delay)


def current_broker() -> dramatiq.Broker:
    """The broker `setup_broker` made; actor modules bind to it, never to a default one."""
    broker = dramatiq.broker.global_broker
    if broker is None:
        raise RuntimeError("call tasks.broker.setup_broker(settings) before importing actors")
    return broker


class AsyncIODyingWithTheProcess(AsyncIO):
    """Dramatiq's AsyncIO middleware, its event loop's thread a daemon.

    A second SIGTERM (`pkill`, or a signal to the process group: the supervisor forwards
    its own too) makes Dramatiq exit the worker's main thread at once, skipping the hooks
    that stop the loop. Dramatiq's loop thread is not a daemon, so the process lived on
    until SIGKILL, its relay failing every beat against the finalizing interpreter. A kill
    means what is in flight is abandoned (unacked, so redelivered); a clean stop still
    stops and joins the loop in `after_worker_shutdown`.
    """

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        thread = EventLoopThread(self.logger)
        thread.daemon = True
        thread.start(timeout=1.0)
        set_event_loop_thread(thread)
