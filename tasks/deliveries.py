"""Actors of outgoing payment events: deliver one (event, consumer); prune delivered events."""

from datetime import timedelta

import dramatiq
import httpx
import structlog

from payments.outbox.delivery import DeliveryPolicy, deliver
from payments.outbox.relay import prune_delivered
from tasks.broker import current_broker, send_off_loop
from tasks.runtime import actor_runtime

log = structlog.get_logger(__name__)

_http: httpx.AsyncClient | None = None


@dramatiq.actor(
    broker=current_broker(),
    queue_name="deliveries",
    max_retries=5,
    min_backoff=1_000,
    max_backoff=30_000,
)
async def deliver_event(delivery_id: int) -> None:
    """Deliver one event to one consumer; send its own retry and wake the next version.

    Attempts are counted in the database, so Dramatiq's own retries only cover
    unexpected errors (the database down); whatever a failed or lost message left
    open, the relay's sweep enqueues again.
    """
    policy = DeliveryPolicy.from_settings(actor_runtime().settings)
    result = await deliver(delivery_id, policy, http_client())
    if result.retry_in_ms is not None:
        await send_off_loop(deliver_event, [(delivery_id,)], delay=result.retry_in_ms)
    if result.wake is not None:
        await send_off_loop(deliver_event, [(result.wake,)])


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=3)
async def prune_outbox_events() -> None:
    """Delete outbox events every consumer has, once older than OUTBOX_RETENTION_DAYS."""
    days = actor_runtime().settings.outbox_retention_days
    log.info("outbox_pruned", count=await prune_delivered(timedelta(days=days)))


def http_client() -> httpx.AsyncClient:
    """The process's pooled client for consumers, made on first use on the actors' loop."""
    global _http
    if _http is None:
        _http = httpx.AsyncClient(limits=httpx.Limits(max_connections=50))
    return _http


async def close_http_client() -> None:
    global _http
    if _http is not None:
        await _http.aclose()
        _http = None
