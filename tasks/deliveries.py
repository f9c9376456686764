"""Actors of outgoing payment events: deliver a batch to one consumer; prune delivered events."""

from datetime import timedelta

import dramatiq
import structlog

from payments.outbox.batch import deliver_batch
from payments.outbox.consumer_http import ConsumerClients
from payments.outbox.policy import DeliveryPolicy
from payments.outbox.relay import prune_delivered
from tasks.actor_runtime import actor_runtime
from tasks.broker import current_broker, send_off_loop

log = structlog.get_logger(__name__)

# A batch is no larger than a consumer's pool, so its POSTs never wait for a connection (but
# a consumer that closes connections takes a few at a time: payments/outbox/consumer_http.py).
BATCH_SIZE = 50
_clients = ConsumerClients(connections_per_consumer=BATCH_SIZE)


@dramatiq.actor(
    broker=current_broker(),
    queue_name="deliveries",
    max_retries=5,
    min_backoff=1_000,
    max_backoff=30_000,
)
async def deliver_events(consumer: str, delivery_ids: list[int]) -> None:
    """Deliver a batch of events to one consumer; send their retries and wake next versions.

    Attempts are counted in the database, so Dramatiq's own retries only cover
    unexpected errors (the database down); whatever a failed or lost message left
    open, the relay's sweep enqueues again.
    """
    policy = DeliveryPolicy.from_settings(actor_runtime().settings)
    session = _clients.session(consumer, policy.consumers.get(consumer, ""))
    result = await deliver_batch(consumer, delivery_ids, policy, session)
    for delivery_id, delay in result.retries:
        await send_off_loop(deliver_events, [(consumer, [delivery_id])], delay=delay)
    if result.now:
        await send_off_loop(deliver_events, [(consumer, result.now)])


async def enqueue_deliveries(due: dict[str, list[int]]) -> None:
    """One message per (consumer, batch of up to BATCH_SIZE deliveries), sent from one thread."""
    batches = [
        (consumer, ids[start : start + BATCH_SIZE])
        for consumer, ids in due.items()
        for start in range(0, len(ids), BATCH_SIZE)
    ]
    await send_off_loop(deliver_events, batches)


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=3)
async def prune_outbox_events() -> None:
    """Delete outbox events every consumer and Kafka have, past OUTBOX_RETENTION_DAYS."""
    settings = actor_runtime().settings
    retention, kafka = timedelta(days=settings.outbox_retention_days), settings.kafka_enabled
    log.info("outbox_pruned", count=await prune_delivered(retention, kafka))


async def close_http_client() -> None:
    """Close the consumers' connection pools (worker shutdown)."""
    await _clients.close()
