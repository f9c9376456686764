"""A batch's claims on its delivery rows: take them, park one, record attempts, wake the next.

One path for PostgreSQL and SQLite (`payments dev`). Where PostgreSQL does a batch's work
in one statement (arrays, FOR UPDATE SKIP LOCKED, UPDATE ... RETURNING in a WITH), SQLite,
which has none of them and only one process, does the same row by row.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from models.enums import DeliveryStatus
from models.outbox import OutboxDelivery, OutboxEvent
from payments.outbox.policy import ATTEMPT_COLUMNS, OPEN, Attempt, Claim
from payments.shared.rows import fetch_rows, on_postgres, select_one, update_where

_OPEN_SQL = ", ".join(f"'{status.value}'" for status in OPEN)
# One statement claims every due, open row of the batch that no other worker holds (a CTE,
# as the driver reads rows back only from a statement that does not start with UPDATE).
_CLAIM = f"""
WITH claimed AS (UPDATE outbox_deliveries AS d SET status = 'ENQUEUED', next_attempt_at = $3
FROM outbox_events AS e
WHERE e.id = d.event_id AND d.id IN (
    SELECT id FROM outbox_deliveries
    WHERE id = ANY($1::bigint[]) AND consumer = $2 AND status IN ({_OPEN_SQL})
      AND next_attempt_at <= $4
    FOR UPDATE SKIP LOCKED)
RETURNING d.id, d.event_id, d.consumer, d.payment_id, d.version, d.attempts, d.status,
          e.payload::text AS payload, e.request_id)
SELECT * FROM claimed"""
# An earlier event not relayed yet has no delivery row to find: it counts as open too.
_EARLIER_OPEN = f"""
    SELECT 1 FROM outbox_events AS e
    WHERE e.payment_id = d.payment_id AND e.version < d.version AND (
        e.relayed_at IS NULL OR EXISTS (
            SELECT 1 FROM outbox_deliveries AS o
            WHERE o.event_id = e.id AND o.consumer = d.consumer AND o.status IN ({_OPEN_SQL})
              {{outside}}))"""
_EARLIER_VERSION_OPEN = f"""
SELECT 1 FROM outbox_deliveries AS d
WHERE d.id = $1 AND EXISTS ({_EARLIER_OPEN.format(outside="")})"""
# Claimed rows behind an earlier version outside the batch (batch-mates are posted in order).
_BEHIND_OTHERS = f"""
SELECT d.id FROM outbox_deliveries AS d
WHERE d.id = ANY($1::bigint[]) AND EXISTS (
{_EARLIER_OPEN.format(outside="AND o.id <> ALL($1::bigint[])")})"""
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
       AND n.version > f.version AND n.status IN ({_OPEN_SQL})
      ORDER BY n.payment_id, n.version) AS following
WHERE d.id = following.id AND d.status = 'PENDING'
RETURNING d.id)
SELECT id FROM woken"""
_NEXT_OPEN_VERSION = f"""
SELECT id FROM outbox_deliveries
WHERE consumer = $1 AND payment_id = $2 AND version > $3 AND status IN ({_OPEN_SQL})
ORDER BY version LIMIT 1"""
# What an attempt's None leaves as the row has it (COALESCE in _RECORD).
_KEPT_WHEN_NONE = frozenset({"enqueued_at", "delivered_at", "dead_at"})


async def claim_due(consumer: str, delivery_ids: Sequence[int], length: timedelta) -> list[Claim]:
    """Take the due, open rows among `delivery_ids` no other batch holds, for `length`."""
    now = datetime.now(UTC)
    lease = now + length  # the fencing token of every row of the batch, renewed while it runs
    if not on_postgres():
        claims = [
            await _claim_one(delivery_id, consumer, now, lease) for delivery_id in delivery_ids
        ]
        return [claim for claim in claims if claim is not None]
    rows = await fetch_rows(_CLAIM, [list(delivery_ids), consumer, lease, now])
    return [_as_claim(row, lease) for row in rows]


def _as_claim(row: dict[str, Any], lease: datetime) -> Claim:
    payload, request_id = row.pop("payload"), row.pop("request_id")
    delivery = OutboxDelivery(**row, next_attempt_at=lease)
    event = OutboxEvent(id=row["event_id"], payload=json.loads(payload), request_id=request_id)
    return Claim(delivery, event, lease)


async def _claim_one(
    delivery_id: int, consumer: str, now: datetime, lease: datetime
) -> Claim | None:
    delivery = await select_one(OutboxDelivery, id=delivery_id)
    if delivery is None or delivery.consumer != consumer or delivery.status not in OPEN:
        return None
    if delivery.next_attempt_at is None or delivery.next_attempt_at > now:
        return None
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
    delivery.status, delivery.next_attempt_at = DeliveryStatus.ENQUEUED, lease
    event = await select_one(OutboxEvent, id=delivery.event_id)
    assert event is not None  # an event goes only once every delivery of it is done
    return Claim(delivery, event, lease)


async def behind_others(claims: Sequence[Claim]) -> set[int]:
    """The claimed rows behind an earlier version of their payment open outside the batch."""
    claimed = [claim.delivery.id for claim in claims]
    if not on_postgres():
        # Only a payment's lowest claimed version can be behind another outside the batch.
        firsts: dict[str, Claim] = {}
        for claim in sorted(claims, key=lambda c: c.delivery.version, reverse=True):
            firsts[claim.delivery.payment_id] = claim
        return {c.delivery.id for c in firsts.values() if await _earlier_version_open(c.delivery)}
    return {row["id"] for row in await fetch_rows(_BEHIND_OTHERS, [claimed])}


async def _earlier_version_open(delivery: OutboxDelivery) -> bool:
    return bool(await fetch_rows(_EARLIER_VERSION_OPEN, [delivery.id]))


async def hold(claim: Claim) -> int | None:
    """Park behind an earlier version; its outcome wakes this one (the sweep is the backstop).

    Returns this delivery's id when it must run now after all: the earlier one finished
    while it was parking, too early to wake it.
    """
    parked = await update_where(
        OutboxDelivery,
        {"status": DeliveryStatus.PENDING, "next_attempt_at": datetime.now(UTC)},
        id=claim.delivery.id,
        next_attempt_at=claim.lease,
    )
    if parked and not await _earlier_version_open(claim.delivery):
        return await _wake(claim.delivery.id)
    return None


async def record(attempts: Sequence[Attempt], lease: datetime) -> set[int]:
    """Write each attempt's columns while its row still carries `lease`; the ids written."""
    if not on_postgres():
        return {
            attempt.claim.delivery.id for attempt in attempts if await _record_one(attempt, lease)
        }
    values = [[attempt.claim.delivery.id for attempt in attempts]]
    values += [[_text(attempt.columns[name]) for attempt in attempts] for name in ATTEMPT_COLUMNS]
    return {row["id"] for row in await fetch_rows(_RECORD, [*values, lease])}


async def _record_one(attempt: Attempt, lease: datetime) -> int:
    columns = {
        name: value
        for name, value in attempt.columns.items()
        if value is not None or name not in _KEPT_WHEN_NONE
    }
    return await update_where(
        OutboxDelivery, columns, id=attempt.claim.delivery.id, next_attempt_at=lease
    )


def _text(value: Any) -> Any:
    return value.value if isinstance(value, DeliveryStatus) else value


async def wake_next(consumer: str, finished: Sequence[OutboxDelivery]) -> list[int]:
    """Make the next open version of each finished payment due now, if it was held; their ids."""
    if not finished:
        return []
    if not on_postgres():
        woken = [await _wake_next_one(consumer, delivery) for delivery in finished]
        return [delivery_id for delivery_id in woken if delivery_id is not None]
    payments, versions = [d.payment_id for d in finished], [d.version for d in finished]
    rows = await fetch_rows(_WAKE_NEXT, [consumer, payments, versions, datetime.now(UTC)])
    return [row["id"] for row in rows]


async def _wake_next_one(consumer: str, delivery: OutboxDelivery) -> int | None:
    values = [consumer, delivery.payment_id, delivery.version]
    following = await fetch_rows(_NEXT_OPEN_VERSION, values)
    return await _wake(following[0]["id"]) if following else None


async def _wake(delivery_id: int) -> int | None:
    """Make a held delivery due now; its id when this call did it (exactly one caller does)."""
    now = datetime.now(UTC)
    woken = await update_where(
        OutboxDelivery,
        {"status": DeliveryStatus.ENQUEUED, "next_attempt_at": now, "enqueued_at": now},
        id=delivery_id,
        status=DeliveryStatus.PENDING,
    )
    return delivery_id if woken else None
