"""Fan-out of outbox events: relay claims, one signed delivery per consumer, retries, redrive."""

import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import httpx
import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.enums import DeliveryStatus
from models.outbox import OutboxDelivery, OutboxEvent
from payments import metrics
from payments.signatures import standard_webhook_signature

log = structlog.get_logger(__name__)

RELAY_BATCH = 200
_RETRYABLE_STATUS = {408, 429}
_OPEN = (DeliveryStatus.PENDING, DeliveryStatus.ENQUEUED)
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DeliveryPolicy:
    consumers: dict[str, str]
    secret: str
    max_attempts: int = 20
    min_backoff_ms: int = 1000
    max_backoff_ms: int = 600_000
    timeout_seconds: float = 10.0

    def backoff_ms(self, attempts: int) -> int:
        """Exponential backoff with jitter, within the configured bounds."""
        ceiling = min(self.max_backoff_ms, self.min_backoff_ms * 2 ** max(attempts - 1, 0))
        return max(self.min_backoff_ms, int(ceiling * random.uniform(0.5, 1.0)))


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    HOLD = "hold"
    DEAD = "dead"
    DONE = "done"


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    retry_in_ms: int = 0
    # The same consumer's next version of this payment, now free to go (enqueue it at once).
    next_delivery_id: int | None = None


async def relay_events(policy: DeliveryPolicy) -> list[int]:
    """Claim committed, unrelayed events and create one delivery per consumer.

    Rows are claimed with FOR UPDATE SKIP LOCKED, so relays in several workers on
    several machines share the work. Returns the delivery ids to enqueue.
    """
    async with in_transaction() as connection:
        events = await _claim_unrelayed(connection)
        if not events:
            return []
        now = datetime.now(UTC)
        deliveries = [
            OutboxDelivery(
                event_id=event.id,
                consumer=consumer,
                payment_id=event.payment_id,
                version=event.version,
                status=DeliveryStatus.ENQUEUED,
                enqueued_at=now,
            )
            for event in events
            for consumer in policy.consumers
        ]
        event_ids = [event.id for event in events]
        if deliveries:
            await OutboxDelivery.bulk_create(deliveries, using_db=connection)
        await OutboxEvent.filter(id__in=event_ids).using_db(connection).update(relayed_at=now)
        created = OutboxDelivery.filter(event_id__in=event_ids).using_db(connection)
        ids: list[int] = await created.values_list("id", flat=True)  # type: ignore[assignment]
    if not policy.consumers:
        for event in events:
            log.info("payment_event", event_id=event.id, type=event.type, payload=event.payload)
    return ids


async def _claim_unrelayed(connection: BaseDBAsyncClient) -> list[OutboxEvent]:
    query = OutboxEvent.filter(relayed_at__isnull=True).order_by("created_at").limit(RELAY_BATCH)
    return await query.select_for_update(skip_locked=True).using_db(connection)


async def stranded_deliveries(older_than: timedelta) -> list[int]:
    """Deliveries enqueued long ago and still open: their message was lost (Redis restart)."""
    cutoff = datetime.now(UTC) - older_than
    stale = OutboxDelivery.filter(status__in=_OPEN, enqueued_at__lt=cutoff)
    ids: list[int] = await stale.limit(RELAY_BATCH).values_list("id", flat=True)  # type: ignore[assignment]
    if ids:
        await OutboxDelivery.filter(id__in=ids).update(enqueued_at=datetime.now(UTC))
    return ids


async def deliver(
    delivery_id: int, policy: DeliveryPolicy, client: httpx.AsyncClient
) -> DeliveryResult:
    """POST one event to one consumer, signed, and record the attempt.

    Idempotent: a delivered or dead-lettered delivery does nothing. A later version of
    a payment is held until every earlier one is delivered or dead, per consumer.
    """
    delivery = await OutboxDelivery.get_or_none(id=delivery_id).prefetch_related("event")
    if delivery is None or delivery.status not in _OPEN:
        return DeliveryResult(Outcome.DONE)
    if await _earlier_version_open(delivery):
        # Not retried by itself: finishing the earlier version enqueues this one (or the sweep).
        return DeliveryResult(Outcome.HOLD)
    url = policy.consumers.get(delivery.consumer)
    if url is None:
        return await _finish(delivery, DeliveryStatus.DEAD, None, "consumer no longer configured")
    status_code, error = await _post(delivery.event, url, policy, client)
    return await _record(delivery, status_code, error, policy)


async def _earlier_version_open(delivery: OutboxDelivery) -> bool:
    return await OutboxDelivery.exists(
        consumer=delivery.consumer,
        payment_id=delivery.payment_id,
        version__lt=delivery.version,
        status__in=_OPEN,
    )


async def _post(
    event: OutboxEvent, url: str, policy: DeliveryPolicy, client: httpx.AsyncClient
) -> tuple[int | None, str | None]:
    body = json.dumps(event.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_webhook_signature(policy.secret, event.id, timestamp, body),
    }
    try:
        response = await client.post(
            url,
            content=body,
            headers=headers,
            timeout=httpx.Timeout(policy.timeout_seconds, connect=3.0),
        )
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return response.status_code, None if response.is_success else response.text[:500]


async def _record(
    delivery: OutboxDelivery, status_code: int | None, error: str | None, policy: DeliveryPolicy
) -> DeliveryResult:
    delivery.attempts += 1
    if status_code is not None and 200 <= status_code < 300:
        return await _finish(delivery, DeliveryStatus.DELIVERED, status_code, None)
    retryable = status_code is None or status_code in _RETRYABLE_STATUS or status_code >= 500
    if not retryable or delivery.attempts >= policy.max_attempts:
        return await _finish(delivery, DeliveryStatus.DEAD, status_code, error)
    delay = policy.backoff_ms(delivery.attempts)
    delivery.last_status_code, delivery.last_error = status_code, error  # type: ignore[assignment]
    delivery.next_attempt_at = datetime.now(UTC) + timedelta(milliseconds=delay)
    delivery.enqueued_at = datetime.now(UTC) + timedelta(milliseconds=delay)
    await delivery.save()
    metrics.DELIVERIES.labels(delivery.consumer, "retried").inc()
    return DeliveryResult(Outcome.RETRY, delay)


async def _finish(
    delivery: OutboxDelivery, status: DeliveryStatus, status_code: int | None, error: str | None
) -> DeliveryResult:
    now = datetime.now(UTC)
    delivery.status, delivery.last_status_code = status, status_code
    delivery.last_error = error  # type: ignore[assignment]
    if status is DeliveryStatus.DELIVERED:
        delivery.delivered_at = now
    else:
        delivery.dead_at = now
        log.warning(
            "delivery_dead",
            delivery_id=delivery.id,
            consumer=delivery.consumer,
            status_code=status_code,
            error=error,
        )
    await delivery.save()
    outcome = Outcome.DELIVERED if status is DeliveryStatus.DELIVERED else Outcome.DEAD
    metrics.DELIVERIES.labels(delivery.consumer, outcome.value).inc()
    return DeliveryResult(outcome, next_delivery_id=await _next_version(delivery))


async def _next_version(delivery: OutboxDelivery) -> int | None:
    following = OutboxDelivery.filter(
        consumer=delivery.consumer,
        payment_id=delivery.payment_id,
        version__gt=delivery.version,
        status__in=_OPEN,
    )
    row = await following.order_by("version").first()
    return row.id if row else None


async def redrive(event_id: str | None = None) -> list[int]:
    """Re-open dead deliveries (of one event, or all) for a fresh round of attempts.

    They are marked as long-stranded, so the relay's next sweep enqueues them.
    """
    dead = OutboxDelivery.filter(status=DeliveryStatus.DEAD)
    if event_id is not None:
        dead = dead.filter(event_id=event_id)
    ids: list[int] = await dead.values_list("id", flat=True)  # type: ignore[assignment]
    await OutboxDelivery.filter(id__in=ids).update(
        status=DeliveryStatus.ENQUEUED, attempts=0, dead_at=None, enqueued_at=_LONG_AGO
    )
    return ids


async def list_deliveries(failed_only: bool = False, limit: int = 100) -> list[OutboxDelivery]:
    """Recent deliveries, newest first; `failed_only` keeps dead ones and ones with errors."""
    query = OutboxDelivery.all()
    if failed_only:
        query = query.filter(Q(status=DeliveryStatus.DEAD) | Q(status__in=_OPEN, attempts__gt=0))
    return await query.order_by("-id").limit(limit)


async def prune_delivered(older_than: timedelta) -> int:
    """Delete events older than the retention whose every delivery is done."""
    cutoff = datetime.now(UTC) - older_than
    open_events = OutboxDelivery.filter(status__in=_OPEN).values_list("event_id", flat=True)
    done = OutboxEvent.filter(created_at__lt=cutoff, relayed_at__isnull=False)
    return await done.exclude(id__in=await open_events).delete()


async def oldest_undelivered_age_seconds() -> float:
    """Age of the oldest event not yet delivered to every consumer (0 when none)."""
    oldest = await OutboxDelivery.filter(status__in=_OPEN).order_by("id").first()
    unrelayed = await OutboxEvent.filter(relayed_at__isnull=True).order_by("created_at").first()
    times = [row.created_at for row in (oldest, unrelayed) if row is not None]
    return (datetime.now(UTC) - min(times)).total_seconds() if times else 0.0
