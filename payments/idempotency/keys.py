"""Idempotency keys as Stripe has them: claim atomically, fingerprint, replay, lock, resume."""

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.enums import Operation
from models.idempotency import IdempotencyKey
from payments.idempotency.repository import (
    delete_expired,
    find_key,
    insert_key,
    reload_key,
    relock_expired,
    save_columns,
    unlock,
)
from payments.shared import metrics
from payments.shared.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    PaymentsError,
    ReplayedError,
    ValidationFailed,
)
from payments.shared.input_rules import check_text

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class KeyPolicy:
    ttl: timedelta = timedelta(hours=24)
    lock_timeout: timedelta = timedelta(seconds=60)


def fingerprint(payload: dict[str, Any]) -> str:
    """A stable digest of the canonical (normalised, key-sorted) request input."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    """1 to 255 characters of storable text, or ValidationFailed before anything is claimed."""
    if not key:
        raise ValidationFailed(
            f"idempotencyKey must be 1 to {MAX_KEY_LENGTH} characters.", field="idempotencyKey"
        )
    check_text(key, "idempotencyKey", MAX_KEY_LENGTH)


def _digest(key: str) -> str:
    # Only a digest is stored: a client may put anything in its key, even a card number.
    return hashlib.sha256(key.encode()).hexdigest()


async def claim_key(
    principal: str, operation: Operation, key: str, input_fingerprint: str, policy: KeyPolicy
) -> IdempotencyKey:
    """Own the key for this request, or raise / return what the first request decided.

    Returns the record with `completed_at` set when the stored outcome must be
    replayed, or unset when this request now owns it (new, or resumed after a
    crashed owner's lock expired). Raises IdempotencyKeyReused / IdempotencyKeyInUse.
    """
    now = datetime.now(UTC)
    record = IdempotencyKey(
        principal=principal,
        operation=operation,
        key=_digest(key),
        fingerprint=input_fingerprint,
        locked_until=now + policy.lock_timeout,
        created_at=now,
        expires_at=now + policy.ttl,
    )
    row_id = await insert_key(record)
    if row_id is None:
        return await _existing(principal, operation, key, input_fingerprint, policy)
    record.id = row_id
    metrics.IDEMPOTENCY.labels(operation.value, "new").inc()
    return record


async def _existing(
    principal: str, operation: Operation, key: str, input_fingerprint: str, policy: KeyPolicy
) -> IdempotencyKey:
    record = await find_key(principal, operation, _digest(key))
    if record is None:
        # Purged as expired since our insert found it: a retry claims the key anew.
        raise IdempotencyKeyInUse()
    if record.fingerprint != input_fingerprint:
        metrics.IDEMPOTENCY.labels(operation.value, "conflict").inc()
        raise IdempotencyKeyReused()
    if record.completed_at is not None:
        metrics.IDEMPOTENCY.labels(operation.value, "replay").inc()
        return record
    if not await _take_over_expired_lock(record, policy):
        metrics.IDEMPOTENCY.labels(operation.value, "in_use").inc()
        raise IdempotencyKeyInUse()
    metrics.IDEMPOTENCY.labels(operation.value, "resumed").inc()
    return await reload_key(record.id)


async def _take_over_expired_lock(record: IdempotencyKey, policy: KeyPolicy) -> bool:
    """Atomically take a key whose owner died (lock expired); False if someone holds it."""
    now = datetime.now(UTC)
    return await relock_expired(record.id, now, now + policy.lock_timeout)


async def release_key(record: IdempotencyKey) -> None:
    """Let a same-key retry resume at once (the outcome is unknown, e.g. gateway down)."""
    await unlock(record.id, datetime.now(UTC) - timedelta(seconds=1))


async def complete_key(
    record: IdempotencyKey,
    connection: BaseDBAsyncClient,
    *,
    resource_id: str | None = None,
    error: PaymentsError | None = None,
) -> None:
    """Store the outcome (in the caller's transaction) so retries replay it."""
    completion = {"resource_id": resource_id or record.resource_id, **completion_values(error)}
    await save_columns(record, connection, completion)


def completion_values(error: PaymentsError | None = None) -> dict[str, Any]:
    """The columns a completed key holds besides its resource_id: outcome, time, no lock.

    complete_key writes them; a payment's own statement writes them when it completes the
    key together with the payment (payments/lifecycle/repository.py KeyColumns).
    """
    stored = {"code": error.code, "message": error.message, "field": error.field} if error else None
    return {
        "response": {"errors": [stored] if stored else []},
        "completed_at": datetime.now(UTC),
        "locked_until": None,
    }


Reserved = TypeVar("Reserved")


async def reserve_for_key(
    record: IdempotencyKey,
    reserve: Callable[[BaseDBAsyncClient], Awaitable[Reserved]],
    resource_id: Callable[[Reserved], str],
    rejections: tuple[type[PaymentsError], ...],
) -> Reserved:
    """Run `reserve` in one transaction with the key, which then names what it reserved.

    A rejection (one of `rejections`) is stored and committed on the key instead, so a
    retry with this key gets the same answer, and is raised.
    """
    rejection: PaymentsError | None = None
    async with in_transaction() as connection:
        try:
            reserved = await reserve(connection)
        except rejections as error:
            rejection = error
            await complete_key(record, connection, error=error)
        else:
            await name_resource(record, resource_id(reserved), connection)
    if rejection is not None:
        raise rejection
    return reserved


async def name_resource(
    record: IdempotencyKey, resource_id: str, connection: BaseDBAsyncClient
) -> None:
    """Name on the open key what its request created, in the transaction that created it."""
    await save_columns(record, connection, {"resource_id": resource_id})


async def complete_alone(record: IdempotencyKey, error: PaymentsError | None = None) -> None:
    """complete_key in its own transaction, for calls whose outcome writes nothing else."""
    async with in_transaction() as connection:
        await complete_key(record, connection, error=error)


async def store_error(record: IdempotencyKey, error: PaymentsError) -> NoReturn:
    """Complete the key with `error` in its own transaction and raise it, so retries get it."""
    await complete_alone(record, error)
    raise error


def raise_stored_error(record: IdempotencyKey) -> None:
    """Raise the error outcome a completed key holds, so a retry gets the same answer."""
    errors: list[dict[str, Any]] = (record.response or {}).get("errors", [])
    if errors:
        raise ReplayedError(errors[0]["code"], errors[0]["message"], errors[0].get("field"))


async def purge_expired_keys(now: datetime | None = None) -> int:
    """Delete keys past their retention; returns how many went."""
    cutoff = now or datetime.now(UTC)
    return await delete_expired(cutoff)
