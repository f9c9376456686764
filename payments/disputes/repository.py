"""The disputes table's SQL: found by provider id, locked, written, paged and grouped."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from models.dispute import Dispute
from models.enums import DisputeStatus
from payments.shared.rows import select_one


async def find_locked(
    provider: str, provider_dispute_id: str, connection: BaseDBAsyncClient
) -> Dispute | None:
    """The provider's dispute, row-locked until the transaction ends."""
    return await select_one(
        Dispute,
        connection,
        for_update=True,
        provider=provider,
        provider_dispute_id=provider_dispute_id,
    )


async def lock(dispute_id: str, connection: BaseDBAsyncClient) -> Dispute | None:
    return await select_one(Dispute, connection, for_update=True, id=dispute_id)


async def get(dispute_id: str) -> Dispute | None:
    return await select_one(Dispute, id=dispute_id)


async def create(connection: BaseDBAsyncClient, **columns: Any) -> Dispute:
    return await Dispute.create(using_db=connection, **columns)


async def create_once(connection: BaseDBAsyncClient, **columns: Any) -> Dispute | None:
    """Insert the provider's dispute, or None when a concurrent transaction inserted it.

    For disputes without a payment, whose row lock serialises nothing: the unique index
    decides, and a savepoint keeps the caller's transaction usable after the conflict.
    """
    try:
        async with connection._in_transaction() as savepoint:
            return await Dispute.create(using_db=savepoint, **columns)
    except IntegrityError:
        return None


async def update(dispute: Dispute, columns: dict[str, Any], connection: BaseDBAsyncClient) -> None:
    for name, value in columns.items():
        setattr(dispute, name, value)
    await dispute.save(using_db=connection, update_fields=[*columns, "updated_at"])


async def of_payment(payment_id: str, connection: BaseDBAsyncClient) -> list[Dispute]:
    return await Dispute.filter(payment_id=payment_id).using_db(connection)


async def by_payments(payment_ids: Sequence[str]) -> list[list[Dispute]]:
    """Disputes of many payments in one query, oldest first, in the order of `payment_ids`."""
    grouped: dict[str, list[Dispute]] = defaultdict(list)
    for dispute in await Dispute.filter(payment_id__in=payment_ids).order_by("created_at", "id"):
        grouped[str(dispute.payment_id)].append(dispute)
    return [grouped[payment_id] for payment_id in payment_ids]


async def page(
    statuses: Sequence[DisputeStatus], before_id: str | None, size: int
) -> list[Dispute]:
    """Up to `size` disputes, newest first (ids are time-ordered), older than `before_id`."""
    query = Dispute.all()
    if statuses:
        query = query.filter(status__in=list(statuses))
    if before_id is not None:
        query = query.filter(id__lt=before_id)
    return await query.order_by("-id").limit(size)


async def unmatched(limit: int) -> list[Dispute]:
    """Disputes no payment of ours matched yet, oldest first."""
    return await Dispute.filter(payment_id__isnull=True).order_by("created_at").limit(limit)
