"""The consumers' pools: as many POSTs in flight as each consumer's connections take."""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from models.outbox import OutboxEvent
from payments.outbox.consumer_http import ConsumerClients
from payments.outbox.delivery import DeliveryPolicy, post
from tests.support import serve
from tests.tasks.fanout_support import ClosingReceiver, wait_until

SECRET = "whsec_dGVzdA=="
BATCH = 50


@pytest.fixture
async def clients() -> AsyncIterator[ConsumerClients]:
    clients = ConsumerClients(connections_per_consumer=BATCH)
    yield clients
    await clients.close()


async def _post_batches(clients: ConsumerClients, url: str, batches: int) -> list[int | None]:
    """POST `batches` batches of BATCH events to `url`, each batch's at once; their statuses."""
    policy = DeliveryPolicy(consumers={"order": url}, secret=SECRET)
    session = clients.session("order", url)
    statuses = []
    for batch in range(batches):
        events = [
            OutboxEvent(id=f"evt_{batch}_{i}", payload={"n": i}, request_id=None)
            for i in range(BATCH)
        ]
        answers = await asyncio.gather(*(post(event, url, policy, session) for event in events))
        statuses += [status for status, _ in answers]
    return statuses


async def test_a_consumer_that_closes_each_connection_takes_hundreds_of_events_a_second(clients):
    """300 events, 50 at a time, reach an HTTP/1.0 http.server consumer at over 150 a second."""
    consumer = ClosingReceiver()
    async with consumer.serving() as base:
        statuses = await _post_batches(clients, f"{base}/events", 6)
        await wait_until(lambda: len(consumer.received) == 300, "every event read back", 10)
    arrivals = sorted(record["at"] for record in consumer.received)
    rate = len(arrivals) / (arrivals[-1] - arrivals[0])
    # Was 14 a second: 50 connections at once overflowed its accept queue (a backlog of 5),
    # and each dropped SYN is sent again only after 1 s.
    assert rate > 150, f"{rate:.0f} events/s"
    assert statuses == [204] * 300


async def test_a_consumer_that_keeps_connections_alive_gets_a_whole_batch_at_once(clients):
    """A slow keep-alive consumer gets 50 POSTs in flight together once its first answer is in."""
    in_flight, most = 0, 0

    async def slow(request: Request) -> Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.3)
        in_flight -= 1
        return Response(status_code=204)

    async with serve(Starlette(routes=[Route("/events", slow, methods=["POST"])])) as base:
        started = time.monotonic()
        statuses = await _post_batches(clients, f"{base}/events", 2)
        took = time.monotonic() - started
    assert statuses == [204] * 100
    assert most == BATCH
    # Three at a time, as for a consumer that closes, would take 100 / 3 * 0.3 s = 10 s.
    assert took < 3
