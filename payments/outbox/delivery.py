"""Delivery of one outbox event to one consumer: claim, keep order, sign, POST, record."""

import asyncio
import json
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import aiohttp
import structlog

from models.enums import DeliveryStatus
from models.outbox import OutboxDelivery, OutboxEvent
from payments.shared import metrics
from payments.shared.correlation import REQUEST_ID_HEADER, bind_request_id
from payments.shared.input_rules import storable
from payments.shared.rows import fetch_rows, select_one, update_where
from payments.shared.settings import Settings
from payments.shared.signatures import standard_webhook_signature

log = structlog.get_logger(__name__)

OPEN = (DeliveryStatus.PENDING, DeliveryStatus.ENQUEUED)
OPEN_SQL = ", ".join(f"'{status.value}'" for status in OPEN)
# An earlier event not relayed yet has no delivery row to find: it counts as open too.
_EARLIER_VERSION_OPEN = f"""
SELECT 1 FROM outbox_events AS e
WHERE e.payment_id = $1 AND e.version < $2 AND (
    e.relayed_at IS NULL OR EXISTS (
        SELECT 1 FROM outbox_deliveries AS d
        WHERE d.event_id = e.id AND d.consumer = $3 AND d.status IN ({OPEN_SQL})))
LIMIT 1"""
_NEXT_OPEN_VERSION = f"""
SELECT id FROM outbox_deliveries
WHERE consumer = $1 AND payment_id = $2 AND version > $3 AND status IN ({OPEN_SQL})
ORDER BY version LIMIT 1"""
_RETRYABLE_STATUS = frozenset({408, 429})
_ANSWER_BYTES = 2048
_KEPT_ERROR_CHARACTERS = 500


@dataclass(frozen=True)
class DeliveryPolicy:
    """Where events go and how hard we try (the DELIVERY_* settings)."""

    consumers: dict[str, str]
    secret: str
    max_attempts: int = 20
    min_backoff_ms: int = 1000
    max_backoff_ms: int = 600_000
    connect_timeout: float = 3.0
    read_timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "DeliveryPolicy":
        secret = settings.outbound_webhook_secret
        return cls(
            consumers=settings.consumers,
            secret=secret.get_secret_value() if secret else "",
            max_attempts=settings.delivery_max_attempts,
            min_backoff_ms=settings.delivery_min_backoff_ms,
            max_backoff_ms=settings.delivery_max_backoff_ms,
        )

    @property
    def deadline(self) -> float:
        """The longest one attempt may take, end to end, in seconds."""
        return self.connect_timeout + self.read_timeout

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery is left to its claimer before another may take it."""
        return timedelta(seconds=2 * self.deadline)

    def backoff_ms(self, attempts: int) -> int:
        """Exponential backoff with jitter, within the configured bounds."""
        ceiling = min(self.max_backoff_ms, self.min_backoff_ms * 2 ** max(attempts - 1, 0))
        return max(self.min_backoff_ms, int(ceiling * random.uniform(0.5, 1.0)))


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRIED = "retried"
    DEAD = "dead"
    HELD = "held"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class DeliveryResult:
    """What the caller must send next: this delivery again later, and/or a woken one now."""

    outcome: Outcome
    retry_in_ms: int | None = None
    wake: int | None = None


@dataclass(frozen=True)
class Claim:
    """A delivery this worker holds, with its event, until `lease` (single or batched)."""

    delivery: OutboxDelivery
    event: OutboxEvent
    lease: datetime  # the claim's fencing token: later writes apply only while it holds


async def deliver(
    delivery_id: int, policy: DeliveryPolicy, session: aiohttp.ClientSession
) -> DeliveryResult:
    """POST one event to one consumer, signed, and record the attempt.

    Safe to run twice: only one run claims a due, open delivery; a delivered, dead,
    busy or not yet due one is skipped. A later version of a payment is held until
    every earlier one is delivered or dead for this consumer; finishing a version
    wakes the next.
    """
    claim = await _claim(delivery_id, policy)
    if claim is None:
        return DeliveryResult(Outcome.SKIPPED)
    # The worker's log lines for this delivery carry the id of the request behind it.
    bind_request_id(claim.event.request_id)
    if await _earlier_version_open(claim.delivery):
        return await hold(claim)
    url = policy.consumers[claim.delivery.consumer]
    status_code, error = await post(claim.event, url, policy, session)
    return await record(claim, status_code, error, policy)


async def _claim(delivery_id: int, policy: DeliveryPolicy) -> Claim | None:
    delivery = await select_one(OutboxDelivery, id=delivery_id)
    now = _now()
    if delivery is None or not _claimable(delivery, policy, now):
        return None
    lease = now + policy.lease
    # Fenced on the state just read: of concurrent claimers, only the first changes it.
    claimed = await update_where(
        OutboxDelivery,
        {"status": DeliveryStatus.ENQUEUED, "next_attempt_at": lease},
        id=delivery_id,
        status=delivery.status,
        next_attempt_at=delivery.next_attempt_at,
    )
    if not claimed:
        return None
    event = await select_one(OutboxEvent, id=delivery.event_id)
    assert event is not None  # an event goes only once every delivery of it is done
    return Claim(delivery, event, lease)


def _claimable(delivery: OutboxDelivery, policy: DeliveryPolicy, now: datetime) -> bool:
    # A consumer missing from the configuration keeps its deliveries open until it is back.
    due = delivery.next_attempt_at is not None and delivery.next_attempt_at <= now
    return delivery.status in OPEN and delivery.consumer in policy.consumers and due


async def _earlier_version_open(delivery: OutboxDelivery) -> bool:
    values = [delivery.payment_id, delivery.version, delivery.consumer]
    return bool(await fetch_rows(_EARLIER_VERSION_OPEN, values))


async def hold(claim: Claim) -> DeliveryResult:
    """Park behind an earlier version; its outcome wakes this one (the sweep is the backstop)."""
    parked = await _fenced(claim, status=DeliveryStatus.PENDING, next_attempt_at=_now())
    if parked and not await _earlier_version_open(claim.delivery):
        # The earlier one finished while this one was parking, too early to wake it.
        return DeliveryResult(Outcome.HELD, wake=await _wake(claim.delivery.id))
    return DeliveryResult(Outcome.HELD)


async def _wake(delivery_id: int) -> int | None:
    """Make a held delivery due now; its id when this call did it (exactly one caller does)."""
    now = _now()
    woken = await update_where(
        OutboxDelivery,
        {"status": DeliveryStatus.ENQUEUED, "next_attempt_at": now, "enqueued_at": now},
        id=delivery_id,
        status=DeliveryStatus.PENDING,
    )
    return delivery_id if woken else None


async def post(
    event: OutboxEvent, url: str, policy: DeliveryPolicy, session: aiohttp.ClientSession
) -> tuple[int | None, str | None]:
    """POST the signed event; its status code, or None and the error when there was no answer."""
    body = json.dumps(event.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_webhook_signature(policy.secret, event.id, timestamp, body),
    }
    if event.request_id:
        headers[REQUEST_ID_HEADER] = event.request_id
    timeout = aiohttp.ClientTimeout(
        sock_connect=policy.connect_timeout, sock_read=policy.read_timeout
    )
    try:
        # aiohttp times each phase; the deadline bounds the whole attempt within the lease.
        async with (
            asyncio.timeout(policy.deadline),
            session.post(url, data=body, headers=headers, timeout=timeout) as response,
        ):
            # Enough for `last_error`; reading a short answer whole lets the connection be reused.
            answer = await response.content.read(_ANSWER_BYTES)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:_KEPT_ERROR_CHARACTERS]
    if 200 <= response.status < 300:
        return response.status, None
    # A consumer's answer is any text it likes; keep what PostgreSQL can store of it.
    return response.status, storable(answer.decode("utf-8", "replace")[:_KEPT_ERROR_CHARACTERS])


def retryable(status_code: int | None) -> bool:
    """No answer, a timeout or throttling answer, or a server error: worth another attempt."""
    return status_code is None or status_code in _RETRYABLE_STATUS or status_code >= 500


async def record(
    claim: Claim, status_code: int | None, error: str | None, policy: DeliveryPolicy
) -> DeliveryResult:
    """Record one attempt's outcome under the claim's lease: delivered, retried later or dead."""
    attempts = claim.delivery.attempts + 1
    outcome = {"attempts": attempts, "last_status_code": status_code, "last_error": error}
    if status_code is not None and 200 <= status_code < 300:
        return await _finish(claim, DeliveryStatus.DELIVERED, outcome)
    if not retryable(status_code) or attempts >= policy.max_attempts:
        return await _finish(claim, DeliveryStatus.DEAD, outcome)
    delay = policy.backoff_ms(attempts)
    due = _now() + timedelta(milliseconds=delay)
    if not await _fenced(claim, next_attempt_at=due, enqueued_at=_now(), **outcome):
        return _lost(claim)
    metrics.DELIVERIES.labels(claim.delivery.consumer, Outcome.RETRIED.value).inc()
    return DeliveryResult(Outcome.RETRIED, retry_in_ms=delay)


async def _finish(claim: Claim, status: DeliveryStatus, outcome: dict[str, Any]) -> DeliveryResult:
    delivered = status is DeliveryStatus.DELIVERED
    stamp = {"delivered_at" if delivered else "dead_at": _now()}
    if not await _fenced(claim, status=status, next_attempt_at=None, **stamp, **outcome):
        return _lost(claim)
    delivery = claim.delivery
    result = Outcome.DELIVERED if delivered else Outcome.DEAD
    metrics.DELIVERIES.labels(delivery.consumer, result.value).inc()
    if not delivered:
        log.warning("delivery_dead", delivery_id=delivery.id, consumer=delivery.consumer, **outcome)
    return DeliveryResult(result, wake=await _wake_next(delivery))


async def _wake_next(delivery: OutboxDelivery) -> int | None:
    values = [delivery.consumer, delivery.payment_id, delivery.version]
    following = await fetch_rows(_NEXT_OPEN_VERSION, values)
    return await _wake(following[0]["id"]) if following else None


async def _fenced(claim: Claim, **changes: Any) -> int:
    """Apply `changes` only while the claim's lease still holds; returns 1 if it did."""
    return await update_where(
        OutboxDelivery, changes, id=claim.delivery.id, next_attempt_at=claim.lease
    )


def _lost(claim: Claim) -> DeliveryResult:
    # Only when an attempt outlived its lease: the worker that took over records instead.
    log.warning("delivery_lease_lost", delivery_id=claim.delivery.id)
    return DeliveryResult(Outcome.SKIPPED)


def _now() -> datetime:
    return datetime.now(UTC)
