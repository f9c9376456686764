"""Delivery of many events to one consumer: one claim, ordered concurrent POSTs, one record."""

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import structlog
from tortoise import connections

from models.enums import DeliveryStatus
from models.outbox import OutboxDelivery, OutboxEvent
from payments.outbox.delivery import (
    OPEN_SQL,
    Claim,
    DeliveryPolicy,
    DeliveryResult,
    Outcome,
    deliver,
    hold,
    post,
    retryable,
)
from payments.outbox.lease import BatchLease, batch_lease
from payments.shared import metrics
from payments.shared.correlation import bind_request_id
from payments.shared.rows import fetch_rows

log = structlog.get_logger(__name__)

# One statement claims every due, open row of the batch that no other worker holds (a CTE,
# as the driver reads rows back only from a statement that does not start with UPDATE).
_CLAIM = f"""
WITH claimed AS (UPDATE outbox_deliveries AS d SET status = 'ENQUEUED', next_attempt_at = $3
FROM outbox_events AS e
WHERE e.id = d.event_id AND d.id IN (
    SELECT id FROM outbox_deliveries
    WHERE id = ANY($1::bigint[]) AND consumer = $2 AND status IN ({OPEN_SQL})
      AND next_attempt_at <= $4
    FOR UPDATE SKIP LOCKED)
RETURNING d.id, d.event_id, d.consumer, d.payment_id, d.version, d.attempts, d.status,
          e.payload::text AS payload, e.request_id)
SELECT * FROM claimed"""
# Claimed rows behind an earlier version outside the batch (batch-mates are posted in order).
_BEHIND_OTHERS = f"""
SELECT d.id FROM outbox_deliveries AS d
WHERE d.id = ANY($1::bigint[]) AND EXISTS (
    SELECT 1 FROM outbox_events AS e
    WHERE e.payment_id = d.payment_id AND e.version < d.version AND (
        e.relayed_at IS NULL OR EXISTS (
            SELECT 1 FROM outbox_deliveries AS o
            WHERE o.event_id = e.id AND o.consumer = d.consumer AND o.status IN ({OPEN_SQL})
              AND o.id <> ALL($1::bigint[]))))"""
# Every attempt of the batch recorded by one statement, each fenced on the batch's lease.
_RECORD = """
WITH recorded AS (UPDATE outbox_deliveries AS d SET
    status = v.status, attempts = v.attempts, last_status_code = v.code,
    last_error = v.error, next_attempt_at = v.next_at,
    enqueued_at = COALESCE(v.enqueued_at, d.enqueued_at),
    delivered_at = COALESCE(v.delivered_at, d.delivered_at),
    dead_at = COALESCE(v.dead_at, d.dead_at)
FROM unnest($1::bigint[], $2::text[], $3::int[], $4::int[], $5::text[], $6::timestamptz[],
            $7::timestamptz[], $8::timestamptz[], $9::timestamptz[])
    AS v(id, status, attempts, code, error, next_at, enqueued_at, delivered_at, dead_at)
WHERE d.id = v.id AND d.next_attempt_at = $10
RETURNING d.id)
SELECT id FROM recorded"""
# Per finished payment, its next open version for the consumer: due now if it was held.
_WAKE_NEXT = f"""
WITH woken AS (UPDATE outbox_deliveries AS d
SET status = 'ENQUEUED', next_attempt_at = $4, enqueued_at = $4
FROM (SELECT DISTINCT ON (n.payment_id) n.id
      FROM unnest($2::text[], $3::int[]) AS f(payment_id, version)
      JOIN outbox_deliveries AS n ON n.consumer = $1 AND n.payment_id = f.payment_id
       AND n.version > f.version AND n.status IN ({OPEN_SQL})
      ORDER BY n.payment_id, n.version) AS following
WHERE d.id = following.id AND d.status = 'PENDING'
RETURNING d.id)
SELECT id FROM woken"""
_COLUMNS = (
    "status",
    "attempts",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "enqueued_at",
    "delivered_at",
    "dead_at",
)


@dataclass(frozen=True)
class _Attempt:
    """One POST's outcome, decided in memory and recorded with the rest of the batch."""

    claim: Claim
    outcome: Outcome  # DELIVERED, RETRIED or DEAD
    columns: dict[str, Any]
    retry_in_ms: int | None = None

    @property
    def finished(self) -> bool:
        return self.outcome is not Outcome.RETRIED


@dataclass
class BatchResult:
    """What the caller must send next: delayed retries, and the deliveries to run now."""

    retries: list[tuple[int, int]] = field(default_factory=list)  # (delivery id, delay in ms)
    now: list[int] = field(default_factory=list)

    def add(self, delivery_id: int, result: DeliveryResult) -> None:
        if result.retry_in_ms is not None:
            self.retries.append((delivery_id, result.retry_in_ms))
        if result.wake is not None:
            self.now.append(result.wake)


async def deliver_batch(
    consumer: str,
    delivery_ids: Sequence[int],
    policy: DeliveryPolicy,
    session: aiohttp.ClientSession,
) -> BatchResult:
    """POST the due deliveries among `delivery_ids` to `consumer`, each payment's in order.

    Safe to run twice, like `deliver`: only one run claims each row. Payments are posted
    concurrently; the versions of one payment one after another, and the rest of a
    payment's versions are held once one is not delivered or dead.
    """
    result = BatchResult()
    if consumer not in policy.consumers or not delivery_ids:
        return result  # a consumer missing from the configuration keeps its deliveries open
    if connections.get("default").capabilities.dialect != "postgres":
        # SQLite (`payments dev`, one process) has no row locks to skip: one at a time.
        for delivery_id in delivery_ids:
            result.add(delivery_id, await deliver(delivery_id, policy, session))
        return result
    length = batch_lease(policy.lease)
    claims = await _claim(consumer, delivery_ids, length)
    if not claims:
        return result
    budget_ends = time.monotonic() + (policy.lease.total_seconds() - policy.deadline)
    claimed = [claim.delivery.id for claim in claims]
    async with BatchLease(claimed, claims[0].lease, length).renewed() as lease:
        behind = await _behind_others(claimed)
        url = policy.consumers[consumer]
        runs = (
            _run_chain(
                chain, chain[0].delivery.id in behind, url, policy, session, budget_ends, lease
            )
            for chain in _chains(claims)
        )
        chains = await asyncio.gather(*runs)
    for holds in (held for _, held in chains):
        for delivery_id, outcome in holds:
            result.add(delivery_id, outcome)
    await _record_all(consumer, [attempts for attempts, _ in chains], result, lease.until)
    return result


async def _claim(consumer: str, delivery_ids: Sequence[int], length: timedelta) -> list[Claim]:
    now = datetime.now(UTC)
    lease = now + length  # the fencing token of every row of the batch, renewed while it runs
    rows = await fetch_rows(_CLAIM, [list(delivery_ids), consumer, lease, now])
    return [_as_claim(row, lease) for row in rows]


def _as_claim(row: dict[str, Any], lease: datetime) -> Claim:
    payload, request_id = row.pop("payload"), row.pop("request_id")
    delivery = OutboxDelivery(**row, next_attempt_at=lease)
    event = OutboxEvent(id=row["event_id"], payload=json.loads(payload), request_id=request_id)
    return Claim(delivery, event, lease)


async def _behind_others(claimed: list[int]) -> set[int]:
    return {row["id"] for row in await fetch_rows(_BEHIND_OTHERS, [claimed])}


def _chains(claims: list[Claim]) -> list[list[Claim]]:
    """The claims grouped by payment, each group in version order."""
    chains: dict[str, list[Claim]] = defaultdict(list)
    for claim in sorted(claims, key=lambda c: c.delivery.version):
        chains[claim.delivery.payment_id].append(claim)
    return list(chains.values())


async def _run_chain(
    chain: list[Claim],
    blocked: bool,
    url: str,
    policy: DeliveryPolicy,
    session: aiohttp.ClientSession,
    budget_ends: float,
    lease: BatchLease,
) -> tuple[list[_Attempt], list[tuple[int, DeliveryResult]]]:
    """One payment's claimed versions, in order; `blocked` when an earlier one is open elsewhere.

    Returns the attempts to record and the held deliveries. Each chain runs as its own
    task, so the request id bound for its log lines is its own.
    """
    attempts: list[_Attempt] = []
    held = []
    for claim in chain:
        bind_request_id(claim.event.request_id)
        # Past the budget, a POST could outlive the longest a batch may run (one policy
        # lease): hold it, and the hold wakes it.
        if blocked or time.monotonic() > budget_ends:
            held.append((claim.delivery.id, await _hold(claim, lease)))
            blocked = True
            continue
        status_code, error = await post(claim.event, url, policy, session)
        attempts.append(_judge(claim, status_code, error, policy))
        blocked = not attempts[-1].finished
    return attempts, held


async def _hold(claim: Claim, lease: BatchLease) -> DeliveryResult:
    async with lease.lock:  # parked under the current token, not one a renewal replaced
        return await hold(replace(claim, lease=lease.until))


def _judge(
    claim: Claim, status_code: int | None, error: str | None, policy: DeliveryPolicy
) -> _Attempt:
    """What `record` would write for this attempt: delivered, retried after a backoff, or dead."""
    now = datetime.now(UTC)
    attempts = claim.delivery.attempts + 1
    columns: dict[str, Any] = dict.fromkeys(_COLUMNS)
    columns.update(attempts=attempts, last_status_code=status_code, last_error=error)
    if status_code is not None and 200 <= status_code < 300:
        columns.update(status=DeliveryStatus.DELIVERED.value, delivered_at=now)
        return _Attempt(claim, Outcome.DELIVERED, columns)
    if not retryable(status_code) or attempts >= policy.max_attempts:
        columns.update(status=DeliveryStatus.DEAD.value, dead_at=now)
        return _Attempt(claim, Outcome.DEAD, columns)
    delay = policy.backoff_ms(attempts)
    due = now + timedelta(milliseconds=delay)
    columns.update(status=DeliveryStatus.ENQUEUED.value, next_attempt_at=due, enqueued_at=now)
    return _Attempt(claim, Outcome.RETRIED, columns, delay)


async def _record_all(
    consumer: str, chains: list[list[_Attempt]], result: BatchResult, lease: datetime
) -> None:
    """Record every attempt with one statement, then wake each finished payment's next version."""
    attempts = [attempt for chain in chains for attempt in chain]
    if not attempts:
        return
    values = [[attempt.claim.delivery.id for attempt in attempts]]
    values += [[attempt.columns[name] for attempt in attempts] for name in _COLUMNS]
    recorded = {row["id"] for row in await fetch_rows(_RECORD, [*values, lease])}
    for attempt in attempts:
        _observe(attempt, attempt.claim.delivery.id in recorded, result)
    # A payment whose every attempt here was recorded and finished hands over to its next.
    tails = [
        chain[-1].claim.delivery
        for chain in chains
        if chain and chain[-1].finished and all(a.claim.delivery.id in recorded for a in chain)
    ]
    if tails:
        now = datetime.now(UTC)
        payments, versions = [d.payment_id for d in tails], [d.version for d in tails]
        woken = await fetch_rows(_WAKE_NEXT, [consumer, payments, versions, now])
        result.now += [row["id"] for row in woken]


def _observe(attempt: _Attempt, recorded: bool, result: BatchResult) -> None:
    delivery = attempt.claim.delivery
    if not recorded:
        # Only when the batch outlived its lease: the worker that took over records instead.
        log.warning("delivery_lease_lost", delivery_id=delivery.id)
        return
    metrics.DELIVERIES.labels(delivery.consumer, attempt.outcome.value).inc()
    if attempt.retry_in_ms is not None:
        result.retries.append((delivery.id, attempt.retry_in_ms))
    if attempt.outcome is Outcome.DEAD:
        outcome = {name: attempt.columns[name] for name in _COLUMNS[1:4]}
        log.warning("delivery_dead", delivery_id=delivery.id, consumer=delivery.consumer, **outcome)
