"""The idempotency_keys table's queries: claim once, find, take over, release, complete, purge."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models.enums import Operation
from models.idempotency import IdempotencyKey
from payments.shared.rows import insert_once, select_one

_CLAIMED_COLUMNS = (
    "principal",
    "operation",
    "key",
    "fingerprint",
    "locked_until",
    "created_at",
    "expires_at",
)
_UNIQUE_COLUMNS = ("principal", "operation", "key")


async def insert_key(record: IdempotencyKey) -> int | None:
    """Insert the claimed key; its new id, or None when (principal, operation, key) exists."""
    return await insert_once(record, _CLAIMED_COLUMNS, _UNIQUE_COLUMNS)


async def find_key(principal: str, operation: Operation, digest: str) -> IdempotencyKey | None:
    """The stored key with this digest for the principal and operation, if any."""
    return await select_one(IdempotencyKey, principal=principal, operation=operation, key=digest)


async def reload_key(key_id: int) -> IdempotencyKey:
    """The key's row as it is now."""
    return await IdempotencyKey.get(id=key_id)


async def relock_expired(key_id: int, now: datetime, locked_until: datetime) -> bool:
    """Lock an open key until `locked_until` if its lock expired before `now`; False if held."""
    taken = await IdempotencyKey.filter(
        id=key_id, completed_at__isnull=True, locked_until__lt=now
    ).update(locked_until=locked_until)
    return taken == 1


async def unlock(key_id: int, expired_at: datetime) -> None:
    """Set an open key's lock to have expired at `expired_at`."""
    await IdempotencyKey.filter(id=key_id, completed_at__isnull=True).update(
        locked_until=expired_at
    )


async def save_columns(
    record: IdempotencyKey, connection: BaseDBAsyncClient, columns: Mapping[str, Any]
) -> None:
    """Set `columns` on the key and write them (in the caller's transaction)."""
    for name, value in columns.items():
        setattr(record, name, value)
    await record.save(using_db=connection, update_fields=list(columns))


async def delete_expired(cutoff: datetime) -> int:
    """Delete keys whose retention ended before `cutoff`; how many went."""
    return await IdempotencyKey.filter(expires_at__lt=cutoff).delete()
