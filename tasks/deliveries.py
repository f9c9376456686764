"""Actors of outgoing payment events: deliver a batch to one endpoint; prune delivered events."""

import functools
from datetime import timedelta

import dramatiq
import structlog

from payments.endpoints import service as endpoints
from payments.endpoints.urls import UrlRules
from payments.outbox.batch import deliver_batch
from payments.outbox.consumer_http import ConsumerClients
from payments.outbox.lanes import Lanes
from payments.outbox.policy import DeliveryPolicy
from payments.outbox.relay import prune_delivered
from tasks.actor_runtime import actor_runtime
from tasks.broker import current_broker, send_off_loop

log = structlog.get_logger(__name__)

# A batch is no larger than an endpoint's pool, so its POSTs never wait for a connection (but
# one that closes connections takes a few at a time: payments/outbox/consumer_http.py).
BATCH_SIZE = 50
# How long a stopping worker lets running batches finish (under its shutdown timeout).
DRAIN_SECONDS = 8.0
_clients = ConsumerClients(connections_per_consumer=BATCH_SIZE)
_lanes = Lanes()


@functools.cache
def _destinations(rules: UrlRules) -> endpoints.Destinations:
    """The process's reads of where endpoints' batches go (one per URL rules: one)."""
    return endpoints.Destinations(rules)


@dramatiq.actor(
    broker=current_broker(),
    queue_name="deliveries",
    max_retries=5,
    min_backoff=1_000,
    max_backoff=30_000,
)
async def deliver_events(consumer: str, delivery_ids: list[int]) -> None:
    """Start a batch of events to one endpoint in its lane, and return at once.

    The batch runs on the worker's event loop without holding this thread, so a slow
    endpoint cannot hold up another's messages (payments/outbox/lanes.py). Attempts are
    counted in the database; whatever a failed batch left open, the relay's sweep
    enqueues again.
    """
    _lanes.start(consumer, functools.partial(_deliver, consumer, delivery_ids))


async def _deliver(consumer: str, delivery_ids: list[int]) -> None:
    settings = actor_runtime().settings
    destinations = _destinations(UrlRules.from_settings(settings))
    destination = await destinations.get(consumer)
    if destination is None:
        return  # deleted or disabled: what it did not get, recoverEventEndpoint sends
    policy = DeliveryPolicy.from_settings(settings)
    session = _clients.session(consumer, destination.url, destination.public_only)
    result = await deliver_batch(destination, delivery_ids, policy, session)
    await endpoints.record_outcomes(
        destination, result.delivered, result.dead, policy.disable_after_dead
    )
    if result.dead:
        destinations.forget(consumer)  # its run of failures (or its disabling) is news
    for delivery_id, delay in result.retries:
        await send_off_loop(deliver_events, [(consumer, [delivery_id])], delay=delay)
    if result.now:
        await send_off_loop(deliver_events, [(consumer, result.now)])


async def enqueue_deliveries(due: dict[str, list[int]]) -> None:
    """One message per (endpoint, batch of up to BATCH_SIZE deliveries), sent from one thread."""
    batches = [
        (consumer, ids[start : start + BATCH_SIZE])
        for consumer, ids in due.items()
        for start in range(0, len(ids), BATCH_SIZE)
    ]
    await send_off_loop(deliver_events, batches)


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=3)
async def prune_outbox_events() -> None:
    """Delete outbox events every endpoint and Kafka have, past OUTBOX_RETENTION_DAYS."""
    settings = actor_runtime().settings
    retention, kafka = timedelta(days=settings.outbox_retention_days), settings.kafka_enabled
    log.info("outbox_pruned", count=await prune_delivered(retention, kafka))


async def close_http_client() -> None:
    """Let running batches finish, then close the endpoints' connection pools (shutdown)."""
    await _lanes.drain(DRAIN_SECONDS)
    await _clients.close()
