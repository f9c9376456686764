"""Batched delivery: one claim for many rows, each payment's versions in order, nothing lost."""

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from models.enums import DeliveryStatus
from models.outbox import OutboxDelivery, OutboxEvent
from payments.outbox.batch import deliver_batch
from payments.outbox.delivery import DeliveryPolicy
from payments.outbox.relay import sweep_stranded

pytestmark = pytest.mark.usefixtures("database_url")
POLICY = DeliveryPolicy(consumers={"order": "http://order.test/events"}, secret="whsec_dGVzdA==")


async def _deliveries(versions: dict[str, list[int]]) -> list[int]:
    """Relayed events of the given payments' versions, each with an `order` delivery due now."""
    now = datetime.now(UTC)
    ids = []
    for payment_id, payment_versions in versions.items():
        for version in payment_versions:
            payload = {"data": {"payment": {"id": payment_id, "version": version}}}
            event = await OutboxEvent.create(
                payment_id=payment_id, version=version, type="t", payload=payload, relayed_at=now
            )
            delivery = await OutboxDelivery.create(
                event=event,
                consumer="order",
                payment_id=payment_id,
                version=version,
                status=DeliveryStatus.ENQUEUED,
                next_attempt_at=now,
            )
            ids.append(delivery.id)
    return ids


def _recording(posted: list[tuple[str, int]], slow_first: bool = False) -> httpx.AsyncClient:
    async def answer(request: httpx.Request) -> httpx.Response:
        payment = json.loads(request.content)["data"]["payment"]
        if slow_first and payment["version"] == 1:
            await asyncio.sleep(0.3)  # a later version sent concurrently would overtake it
        posted.append((payment["id"], payment["version"]))
        return httpx.Response(200)

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


async def _statuses(ids: list[int]) -> set[DeliveryStatus]:
    return {row.status for row in await OutboxDelivery.filter(id__in=ids)}


async def test_one_batch_delivers_many_rows():
    """Twenty payments' deliveries in one call: every one POSTed once and recorded delivered."""
    payments = {uuid.uuid4().hex: [1] for _ in range(20)}
    ids = await _deliveries(payments)
    posted: list[tuple[str, int]] = []
    result = await deliver_batch("order", ids, POLICY, _recording(posted))
    assert sorted(posted) == sorted((payment, 1) for payment in payments)
    assert await _statuses(ids) == {DeliveryStatus.DELIVERED}
    assert (result.retries, result.now) == ([], [])


async def test_two_versions_of_one_payment_in_a_batch_are_posted_in_order():
    """Version 1 answers slowly: version 2 of the same payment still goes after it."""
    payment = uuid.uuid4().hex
    ids = await _deliveries({payment: [1, 2], uuid.uuid4().hex: [1]})
    posted: list[tuple[str, int]] = []
    await deliver_batch("order", list(reversed(ids)), POLICY, _recording(posted, slow_first=True))
    assert [version for paid, version in posted if paid == payment] == [1, 2]
    assert await _statuses(ids) == {DeliveryStatus.DELIVERED}


async def test_a_batch_killed_mid_post_loses_nothing():
    """A worker dies holding a claimed batch: after its lease the sweep sends every row again."""
    ids = await _deliveries({uuid.uuid4().hex: [1, 2], uuid.uuid4().hex: [1]})
    policy = DeliveryPolicy(
        consumers=POLICY.consumers, secret=POLICY.secret, connect_timeout=0.1, read_timeout=0.1
    )
    hung = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        hung.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    dying = asyncio.create_task(
        deliver_batch("order", ids, policy, httpx.AsyncClient(transport=httpx.MockTransport(hang)))
    )
    await hung.wait()
    dying.cancel()  # as kill -9 would: no outcome recorded
    await asyncio.sleep(policy.lease.total_seconds() + 0.1)
    swept = (await sweep_stranded(["order"], timedelta(0))).get("order", [])
    assert set(ids) <= set(swept)
    posted: list[tuple[str, int]] = []
    await deliver_batch("order", ids, policy, _recording(posted))
    assert len(posted) == 3 and await _statuses(ids) == {DeliveryStatus.DELIVERED}


async def test_a_retried_version_holds_the_next_and_a_4xx_is_dead():
    """503 on version 1: it is retried, version 2 waits; another payment's 400 is dead at once."""
    retried, refused = uuid.uuid4().hex, uuid.uuid4().hex
    ids = await _deliveries({retried: [1, 2], refused: [1]})

    async def answer(request: httpx.Request) -> httpx.Response:
        payment = json.loads(request.content)["data"]["payment"]
        return httpx.Response(503 if payment["id"] == retried else 400)

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    result = await deliver_batch("order", ids, POLICY, client)
    rows = {row.id: row for row in await OutboxDelivery.filter(id__in=ids)}
    assert [delivery_id for delivery_id, _ in result.retries] == [ids[0]]
    assert (rows[ids[0]].status, rows[ids[0]].attempts) == (DeliveryStatus.ENQUEUED, 1)
    assert (rows[ids[1]].status, rows[ids[1]].attempts) == (DeliveryStatus.PENDING, 0)
    assert (rows[ids[2]].status, rows[ids[2]].last_status_code) == (DeliveryStatus.DEAD, 400)
    # Its retry delivers version 1, which wakes the held version 2.
    await OutboxDelivery.filter(id=ids[0]).update(next_attempt_at=datetime.now(UTC))
    again = await deliver_batch("order", [ids[0]], POLICY, _recording([]))
    assert again.now == [ids[1]]
