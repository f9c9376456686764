"""Delivery of many events to one consumer: one claim, concurrent ordered POSTs, fenced outcomes."""

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from tortoise import connections

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
    record,
)
from payments.shared.correlation import bind_request_id
from payments.shared.rows import fetch_rows

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
_FINISHED = (Outcome.DELIVERED, Outcome.DEAD)


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
    consumer: str, delivery_ids: Sequence[int], policy: DeliveryPolicy, client: httpx.AsyncClient
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
            result.add(delivery_id, await deliver(delivery_id, policy, client))
        return result
    claims = await _claim(consumer, delivery_ids, policy)
    budget_ends = time.monotonic() + (policy.lease.total_seconds() - policy.deadline)
    behind = await _behind_others([claim.delivery.id for claim in claims])
    url = policy.consumers[consumer]
    runs = (
        _run_chain(chain, chain[0].delivery.id in behind, url, policy, client, budget_ends)
        for chain in _chains(claims)
    )
    for outcomes in await asyncio.gather(*runs):
        for delivery_id, outcome in outcomes:
            result.add(delivery_id, outcome)
    return result


async def _claim(consumer: str, delivery_ids: Sequence[int], policy: DeliveryPolicy) -> list[Claim]:
    now = datetime.now(UTC)
    lease = now + policy.lease  # the fencing token of every row of the batch
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
    client: httpx.AsyncClient,
    budget_ends: float,
) -> list[tuple[int, DeliveryResult]]:
    """One payment's claimed versions, in order; `blocked` when an earlier one is open elsewhere.

    Each chain runs as its own task, so the request id bound for its log lines is its own.
    """
    outcomes = []
    for claim in chain:
        bind_request_id(claim.event.request_id)
        # Past the budget, a POST could outlive the lease: hold it, and the hold wakes it.
        if blocked or time.monotonic() > budget_ends:
            outcomes.append((claim.delivery.id, await hold(claim)))
            blocked = True
            continue
        status_code, error = await post(claim.event, url, policy, client)
        result = await record(claim, status_code, error, policy)
        blocked = result.outcome not in _FINISHED
        outcomes.append((claim.delivery.id, result))
    return outcomes
