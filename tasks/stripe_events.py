"""Actors for stored Stripe events: process (retry, then park), re-enqueue stranded ones, prune."""

from datetime import UTC, datetime, timedelta

import dramatiq
import structlog
from dramatiq.common import compute_backoff

from payments.gateway_events.inbox import park_event, prune_events, stranded_event_ids
from payments.gateway_events.recovery import recover_missed_events
from payments.gateway_events.service import PaymentNotYetKnown, process_stored_event
from tasks.actor_runtime import actor_runtime
from tasks.broker import current_broker, send_off_loop

log = structlog.get_logger(__name__)

# About 13 minutes of backoff in all: longer than a charge can stay uncommitted
# before the reconciler settles it (5 minutes), so a parked event is a real orphan.
MAX_ATTEMPTS = 10
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 300_000
STRANDED_AFTER = timedelta(minutes=5)


@dramatiq.actor(
    broker=current_broker(),
    queue_name="stripe_events",
    max_retries=MAX_ATTEMPTS,
    min_backoff=MIN_BACKOFF_MS,
    max_backoff=MAX_BACKOFF_MS,
)
async def process_stripe_event(row_id: int) -> None:
    """Apply a stored Stripe event; one whose payment is not known yet is retried, then parked."""
    try:
        await process_stored_event(row_id, lambda: actor_runtime().services)
    except PaymentNotYetKnown as error:
        if error.attempts >= MAX_ATTEMPTS:
            await park_event(row_id)
            log.warning("stripe_event_parked", row_id=row_id, error=error.message)
            return
        _, delay = compute_backoff(
            error.attempts - 1, factor=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS
        )
        raise dramatiq.Retry(error.message, delay=delay) from None


async def enqueue_stripe_event(row_id: int) -> None:
    """Hand a newly stored event to the workers (the webhook route's `enqueue`)."""
    await send_off_loop(process_stripe_event, [(row_id,)])


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=3)
async def requeue_stranded_stripe_events() -> None:
    """Enqueue stored events still unprocessed minutes after arrival (their message was lost)."""
    await _requeue(STRANDED_AFTER)


async def resend_unapplied_stripe_events(received_before: datetime) -> None:
    """Enqueue again every stored event still unapplied that arrived before `received_before`.

    The relay calls it once a fault heals: the message of an event stored while Redis
    was down, or held by a killed worker, may be gone. Applying one twice is harmless.
    """
    await _requeue(datetime.now(UTC) - received_before)


async def _requeue(older_than: timedelta) -> None:
    stranded = await stranded_event_ids(older_than)
    await send_off_loop(process_stripe_event, ((row_id,) for row_id in stranded))
    log.info("stripe_events_requeued", count=len(stranded))


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=3)
async def recover_missed_stripe_events() -> None:
    """Store and process the events in Stripe's Events list whose webhooks never arrived."""
    row_ids = await recover_missed_events(actor_runtime().gateway)
    await send_off_loop(process_stripe_event, ((row_id,) for row_id in row_ids))
    log.info("stripe_events_recovered", count=len(row_ids))


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=3)
async def prune_webhook_events() -> None:
    """Delete settled Stripe events older than WEBHOOK_RETENTION_DAYS."""
    pruned = await prune_events(actor_runtime().webhook_retention)
    log.info("webhook_events_pruned", count=pruned)
