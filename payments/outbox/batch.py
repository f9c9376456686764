"""The delivery algorithm: one claim, each payment's versions POSTed in order, one record.

Used alike under PostgreSQL and SQLite (`payments dev`): the policy judges each answer
(payments/outbox/policy.py), posting signs and sends (posting.py), and the claims on the
rows (claims.py) are where the two databases differ.
"""

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import aiohttp
import structlog

from payments.outbox.destination import Destination
from payments.outbox.lease import BatchLease, batch_lease
from payments.outbox.policy import Attempt, Claim, DeliveryPolicy, Outcome, judge
from payments.outbox.posting import post
from payments.outbox.repository import behind_others, claim_due, hold, record, wake_next
from payments.shared import metrics
from payments.shared.correlation import bind_request_id

log = structlog.get_logger(__name__)


@dataclass
class BatchResult:
    """What the caller must send next: delayed retries, and the deliveries to run now."""

    retries: list[tuple[int, int]] = field(default_factory=list)  # (delivery id, delay in ms)
    now: list[int] = field(default_factory=list)
    # Recorded outcomes, for the endpoint's run of dead-lettered deliveries.
    delivered: int = 0
    dead: int = 0


async def deliver_batch(
    destination: Destination,
    delivery_ids: Sequence[int],
    policy: DeliveryPolicy,
    session: aiohttp.ClientSession,
) -> BatchResult:
    """POST the due deliveries among `delivery_ids` to `destination`, each payment's in order.

    Safe to run twice: only one run claims each row; a delivered, dead, busy or not yet
    due one is skipped. Payments are posted concurrently; the versions of one payment
    one after another. A version is held while an earlier one is open (here or in
    another batch); finishing a version wakes the next.
    """
    result = BatchResult()
    if not delivery_ids:
        return result
    length = batch_lease(policy.lease)
    claims = await claim_due(destination.id, delivery_ids, length)
    if not claims:
        return result
    budget_ends = time.monotonic() + (policy.lease.total_seconds() - policy.deadline)
    claimed = [claim.delivery.id for claim in claims]
    async with BatchLease(claimed, claims[0].lease, length).renewed() as lease:
        behind = await behind_others(claims)
        runs = (
            _run_chain(
                chain,
                chain[0].delivery.id in behind,
                destination,
                policy,
                session,
                budget_ends,
                lease,
            )
            for chain in _chains(claims)
        )
        chains = await asyncio.gather(*runs)
    for _, woken in chains:
        result.now += woken
    await _record_all(destination.id, [attempts for attempts, _ in chains], result, lease)
    return result


def _chains(claims: list[Claim]) -> list[list[Claim]]:
    """The claims grouped by payment, each group in version order."""
    chains: dict[str, list[Claim]] = defaultdict(list)
    for claim in sorted(claims, key=lambda c: c.delivery.version):
        chains[claim.delivery.payment_id].append(claim)
    return list(chains.values())


async def _run_chain(
    chain: list[Claim],
    blocked: bool,
    destination: Destination,
    policy: DeliveryPolicy,
    session: aiohttp.ClientSession,
    budget_ends: float,
    lease: BatchLease,
) -> tuple[list[Attempt], list[int]]:
    """One payment's claimed versions, in order; `blocked` when an earlier one is open elsewhere.

    Returns the attempts to record and the held deliveries to run now. Each chain runs
    as its own task, so the request id bound for its log lines is its own.
    """
    attempts: list[Attempt] = []
    woken = []
    for claim in chain:
        bind_request_id(claim.event.request_id)
        # Past the budget, a POST could outlive the longest a batch may run (one policy
        # lease): hold it, and the hold wakes it.
        if blocked or time.monotonic() > budget_ends:
            async with lease.lock:  # parked under the current token, not one a renewal replaced
                delivery_id = await hold(replace(claim, lease=lease.until))
            woken += [delivery_id] if delivery_id is not None else []
            blocked = True
            continue
        status_code, error = await post(claim.event, destination, policy, session)
        attempts.append(judge(claim, status_code, error, policy))
        blocked = not attempts[-1].finished
    return attempts, woken


async def _record_all(
    consumer: str, chains: list[list[Attempt]], result: BatchResult, lease: BatchLease
) -> None:
    """Record every attempt under the batch's lease, then wake each finished payment's next."""
    attempts = [attempt for chain in chains for attempt in chain]
    if not attempts:
        return
    recorded = await record(attempts, lease.until)
    for attempt in attempts:
        _observe(attempt, attempt.claim.delivery.id in recorded, result)
    # A payment whose every attempt here was recorded and finished hands over to its next.
    tails = [
        chain[-1].claim.delivery
        for chain in chains
        if chain and chain[-1].finished and all(a.claim.delivery.id in recorded for a in chain)
    ]
    result.now += await wake_next(consumer, tails)


def _observe(attempt: Attempt, recorded: bool, result: BatchResult) -> None:
    delivery = attempt.claim.delivery
    if not recorded:
        # Only when the batch outlived its lease: the worker that took over records instead.
        log.warning("delivery_lease_lost", delivery_id=delivery.id)
        return
    metrics.DELIVERIES.labels(delivery.consumer, attempt.outcome.value).inc()
    result.delivered += attempt.outcome is Outcome.DELIVERED
    result.dead += attempt.outcome is Outcome.DEAD
    if attempt.retry_in_ms is not None:
        result.retries.append((delivery.id, attempt.retry_in_ms))
    if attempt.outcome is Outcome.DEAD:
        outcome = {
            name: attempt.columns[name] for name in ("attempts", "last_status_code", "last_error")
        }
        log.warning("delivery_dead", delivery_id=delivery.id, consumer=delivery.consumer, **outcome)
