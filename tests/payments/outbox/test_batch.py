"""Batched delivery: one claim for many rows, each payment's versions in order, nothing lost."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from models.enums import DeliveryStatus
from models.outbox import OutboxDelivery, OutboxEvent
from payments.outbox.batch import deliver_batch
from payments.outbox.destination import Destination
from payments.outbox.policy import DeliveryPolicy
from payments.outbox.relay import sweep_stranded
from tests.support import serve

pytestmark = pytest.mark.usefixtures("database")
SECRET = "whsec_dGVzdA=="
# The consumer's answer to one event, given the payment it carries: a status code.
Answer = Callable[[dict[str, Any]], Awaitable[int]]


@dataclass
class Receiver:
    """A real HTTP consumer on a local port, recording what it was sent, in arrival order."""

    url: str = ""
    answer: Answer | None = None

    def policy(self, **timeouts: float) -> DeliveryPolicy:
        return DeliveryPolicy(**timeouts)

    def destination(self) -> Destination:
        return Destination("order", self.url, (SECRET,))

    def recording(self, slow_first: bool = False) -> list[tuple[str, int]]:
        """Answer 200 to everything (version 1 slowly if asked); the list of what arrived."""
        posted: list[tuple[str, int]] = []

        async def answer(payment: dict[str, Any]) -> int:
            if slow_first and payment["version"] == 1:
                await asyncio.sleep(0.3)  # a later version sent concurrently would overtake it
            posted.append((payment["id"], payment["version"]))
            return 200

        self.answer = answer
        return posted


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()

    async def events(request: Request) -> Response:
        assert receiver.answer is not None
        payment = (await request.json())["data"]["payment"]
        return Response(status_code=await receiver.answer(payment))

    async with serve(Starlette(routes=[Route("/events", events, methods=["POST"])])) as base:
        receiver.url = f"{base}/events"
        yield receiver


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


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


async def _statuses(ids: list[int]) -> set[DeliveryStatus]:
    return {row.status for row in await OutboxDelivery.filter(id__in=ids)}


async def test_one_batch_delivers_many_rows(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    """Twenty payments' deliveries in one call: every one POSTed once and recorded delivered."""
    payments = {uuid.uuid4().hex: [1] for _ in range(20)}
    ids = await _deliveries(payments)
    posted = receiver.recording()
    result = await deliver_batch(receiver.destination(), ids, receiver.policy(), session)
    assert sorted(posted) == sorted((payment, 1) for payment in payments)
    assert await _statuses(ids) == {DeliveryStatus.DELIVERED}
    assert (result.retries, result.now) == ([], [])


async def test_two_versions_of_one_payment_in_a_batch_are_posted_in_order(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    """Version 1 answers slowly: version 2 of the same payment still goes after it."""
    payment = uuid.uuid4().hex
    ids = await _deliveries({payment: [1, 2], uuid.uuid4().hex: [1]})
    posted = receiver.recording(slow_first=True)
    await deliver_batch(receiver.destination(), list(reversed(ids)), receiver.policy(), session)
    assert [version for paid, version in posted if paid == payment] == [1, 2]
    assert await _statuses(ids) == {DeliveryStatus.DELIVERED}


async def _hung_batch(
    receiver: Receiver, ids: list[int], policy: DeliveryPolicy, session: aiohttp.ClientSession
) -> "asyncio.Task[Any]":
    """A batch started on `ids` whose consumer never answers, once its first POST is out."""
    hung = asyncio.Event()

    async def hang(payment: dict[str, Any]) -> int:
        hung.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    receiver.answer = hang
    batch = asyncio.create_task(deliver_batch(receiver.destination(), ids, policy, session))
    await hung.wait()
    return batch


async def test_a_batch_killed_mid_post_loses_nothing(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    """A worker dies holding a claimed batch: after its lease the sweep sends every row again."""
    ids = await _deliveries({uuid.uuid4().hex: [1, 2], uuid.uuid4().hex: [1]})
    policy = receiver.policy(connect_timeout=0.1, read_timeout=0.1)
    dying = await _hung_batch(receiver, ids, policy, session)
    dying.cancel()  # as kill -9 would: no outcome recorded
    await asyncio.sleep(policy.lease.total_seconds() + 0.1)
    swept = (await sweep_stranded(["order"], timedelta(0))).get("order", [])
    assert set(ids) <= set(swept)
    posted = receiver.recording()
    await deliver_batch(receiver.destination(), ids, policy, session)
    assert len(posted) == 3 and await _statuses(ids) == {DeliveryStatus.DELIVERED}


async def test_a_batch_slower_than_its_lease_keeps_its_rows_by_renewing(
    receiver: Receiver, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A POST outlasting the short lease: no other batch takes the row; it is recorded once."""
    monkeypatch.setattr("payments.outbox.lease.BATCH_LEASE", timedelta(seconds=0.6))
    ids = await _deliveries({uuid.uuid4().hex: [1]})
    posted = 0

    async def slow(payment: dict[str, Any]) -> int:
        nonlocal posted
        posted += 1
        await asyncio.sleep(1.5)
        return 200

    receiver.answer = slow
    policy = receiver.policy(read_timeout=5)
    first = asyncio.create_task(deliver_batch(receiver.destination(), ids, policy, session))
    await asyncio.sleep(1.0)  # past the first lease: only its renewal keeps the row
    await deliver_batch(receiver.destination(), ids, policy, session)
    await first
    assert posted == 1 and await _statuses(ids) == {DeliveryStatus.DELIVERED}


async def test_a_killed_batch_frees_its_rows_after_the_short_lease(
    receiver: Receiver, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that dies mid-POST holds its rows for the short lease, not the longest batch."""
    monkeypatch.setattr("payments.outbox.lease.BATCH_LEASE", timedelta(seconds=0.5))
    ids = await _deliveries({uuid.uuid4().hex: [1]})
    policy = receiver.policy(read_timeout=30)  # a batch may run for a minute
    dying = await _hung_batch(receiver, ids, policy, session)
    dying.cancel()  # no outcome recorded, no more renewals
    await asyncio.sleep(0.6)
    posted = receiver.recording()
    await deliver_batch(receiver.destination(), ids, policy, session)
    assert len(posted) == 1 and await _statuses(ids) == {DeliveryStatus.DELIVERED}


async def test_a_retried_version_holds_the_next_and_a_4xx_is_dead(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    """503 on version 1: it is retried, version 2 waits; another payment's 400 is dead at once."""
    retried, refused = uuid.uuid4().hex, uuid.uuid4().hex
    ids = await _deliveries({retried: [1, 2], refused: [1]})

    async def answer(payment: dict[str, Any]) -> int:
        return 503 if payment["id"] == retried else 400

    receiver.answer = answer
    result = await deliver_batch(receiver.destination(), ids, receiver.policy(), session)
    rows = {row.id: row for row in await OutboxDelivery.filter(id__in=ids)}
    assert [delivery_id for delivery_id, _ in result.retries] == [ids[0]]
    assert (rows[ids[0]].status, rows[ids[0]].attempts) == (DeliveryStatus.ENQUEUED, 1)
    assert (rows[ids[1]].status, rows[ids[1]].attempts) == (DeliveryStatus.PENDING, 0)
    assert (rows[ids[2]].status, rows[ids[2]].last_status_code) == (DeliveryStatus.DEAD, 400)
    # Its retry delivers version 1, which wakes the held version 2.
    await OutboxDelivery.filter(id=ids[0]).update(next_attempt_at=datetime.now(UTC))
    receiver.recording()
    again = await deliver_batch(receiver.destination(), [ids[0]], receiver.policy(), session)
    assert again.now == [ids[1]]
