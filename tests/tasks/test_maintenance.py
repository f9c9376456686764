"""The purge and authorization-expiry sweeps, run by a real worker process over Redis."""

import asyncio
from datetime import UTC, datetime, timedelta

from models.enums import CancellationReason, Operation, PaymentStatus
from models.idempotency import IdempotencyKey
from models.payment import Payment
from tests.graph.lifecycle import authorized
from tests.support import new_subject


async def _key(name: str, expires_in: timedelta) -> IdempotencyKey:
    now = datetime.now(UTC)
    return await IdempotencyKey.create(
        principal="purge-test",
        operation=Operation.CHARGE,
        key=name,
        fingerprint="f",
        expires_at=now + expires_in,
    )


async def test_worker_purges_only_expired_keys(server, worker):
    """A message sent to Redis is run by the worker process: expired keys go, live ones stay."""
    from tasks.maintenance import purge_idempotency_keys

    expired = await _key(f"old-{datetime.now(UTC).timestamp()}", timedelta(hours=-1))
    live = await _key(f"new-{datetime.now(UTC).timestamp()}", timedelta(hours=24))
    purge_idempotency_keys.send()
    for _ in range(100):
        if not await IdempotencyKey.exists(id=expired.id):
            break
        await asyncio.sleep(0.1)
    assert not await IdempotencyKey.exists(id=expired.id)
    assert await IdempotencyKey.exists(id=live.id)


async def test_worker_cancels_lapsed_authorizations(http, worker):
    """The periodic actor, run by the worker process, cancels a lapsed hold with EXPIRED."""
    from tasks.maintenance import expire_authorizations

    payment = await authorized(http, new_subject())
    past = datetime.now(UTC) - timedelta(seconds=1)
    await Payment.filter(id=payment["id"]).update(capture_before=past)
    expire_authorizations.send()
    for _ in range(100):
        stored = await Payment.get(id=payment["id"])
        if stored.status is PaymentStatus.CANCELED:
            break
        await asyncio.sleep(0.1)
    assert (stored.status, stored.cancellation_reason) == (
        PaymentStatus.CANCELED,
        CancellationReason.EXPIRED,
    )
