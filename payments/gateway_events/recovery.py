"""Recovering Stripe events whose webhooks never arrived, from the gateway's own event list."""

import contextlib
import json
from datetime import UTC, datetime, timedelta

import structlog

from models.inbox import WebhookEvent
from payments.gateway_events.inbox import SETTLED, parse_event, store_event
from payments.gateway_events.service import PaymentNotYetKnown, process_stored_event
from payments.gateways.base import Gateway
from payments.shared.metrics import WEBHOOKS_RECEIVED

log = structlog.get_logger(__name__)

# Listing starts a little before the last event we heard of: events are not always
# delivered in the order Stripe created them, and the one missed may be older.
OVERLAP = timedelta(minutes=10)
# Stripe keeps 30 days of events; after a long silence, three days back is plenty.
MAX_LOOKBACK = timedelta(days=3)
_STRIPE = "stripe"


async def recover_missed_events(gateway: Gateway) -> list[int]:
    """Store the gateway's handled events that are not in the inbox; the new rows' ids.

    Stored through the same store-once path as webhooks, so an event that arrives both
    ways, or is listed by two overlapping runs, is stored and applied once.
    """
    since = await listing_start()
    events = await gateway.list_events(int(since.timestamp()))
    row_ids = [row_id for event in events if (row_id := await _store(event)) is not None]
    log.info("stripe_events_listed", listed=len(events), recovered=len(row_ids))
    return row_ids


async def listing_start() -> datetime:
    """Where a run starts listing: shortly before the newest event received, within bounds."""
    now = datetime.now(UTC)
    newest = await WebhookEvent.all().order_by("-received_at").first().only("received_at")
    heard = newest.received_at if newest else now
    return max(min(heard, now) - OVERLAP, now - MAX_LOOKBACK)


async def _store(event: dict[str, object]) -> int | None:
    body = json.dumps(event).encode()
    # The card gateway lists Stripe's events (the simulated one imitates them).
    parsed = parse_event(_STRIPE, body)
    if parsed is None:
        return None  # nothing a webhook could have delivered either
    row_id = await store_event(_STRIPE, body, parsed)
    if row_id is not None:
        WEBHOOKS_RECEIVED.labels(parsed.type, "recovered").inc()
    return row_id


async def apply_recovered_now(row_ids: list[int]) -> int:
    """Apply recovered events in this process (the CLI has no worker); how many settled.

    An event whose payment is not known here stays stored; the workers' sweep retries it.
    """
    settled = 0
    for row_id in row_ids:
        with contextlib.suppress(PaymentNotYetKnown):
            if await process_stored_event(row_id) in SETTLED:
                settled += 1
    return settled
