"""The consumers' pools: as many POSTs in flight as each consumer's connections take."""

import asyncio
import time
from collections.abc import AsyncIterator
from itertools import pairwise
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from models.outbox import OutboxEvent
from payments.outbox.consumer_http import CLOSING_CONSUMER_POSTS, ConsumerClients, PostsInFlight
from payments.outbox.destination import Destination
from payments.outbox.policy import DeliveryPolicy
from payments.outbox.posting import post
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
    policy, destination = DeliveryPolicy(), Destination("order", url, (SECRET,))
    session = clients.session("order", url)
    statuses = []
    for batch in range(batches):
        events = [
            OutboxEvent(id=f"evt_{batch}_{i}", payload={"n": i}, request_id=None)
            for i in range(BATCH)
        ]
        answers = await asyncio.gather(
            *(post(event, destination, policy, session) for event in events)
        )
        statuses += [status for status, _ in answers]
    return statuses


async def test_a_consumer_that_closes_each_connection_never_waits_on_a_dropped_connect(clients):
    """300 events, 50 at a time, reach an HTTP/1.0 http.server consumer without a stall.

    50 connections at once overflowed its accept queue (a backlog of 5), and each dropped
    SYN is sent again only after 1 s: 14 events a second. How fast it goes otherwise is
    the machine's business; a gap of most of a second between two arrivals is the fault.
    """
    consumer = ClosingReceiver()
    async with consumer.serving() as base:
        statuses = await _post_batches(clients, f"{base}/events", 6)
        await wait_until(lambda: len(consumer.received) == 300, "every event read back", 10)
    arrivals = sorted(record["at"] for record in consumer.received)
    gaps = [later - earlier for earlier, later in pairwise(arrivals)]
    assert max(gaps) < 0.75, f"a {max(gaps):.2f} s stall"
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


async def test_a_post_cancelled_while_it_waits_leaves_no_slot_behind():
    """Waiting POSTs cancelled before and after being handed a slot: every other POST still goes."""
    gate, answers = PostsInFlight(BATCH), [asyncio.Event() for _ in range(6)]
    closing = SimpleNamespace(headers={}, version=aiohttp.HttpVersion10)
    sent: list[int] = []

    def request(index: int) -> "asyncio.Task[Any]":
        async def send(_: Any) -> Any:
            sent.append(index)
            await answers[index].wait()
            return closing

        return asyncio.create_task(gate(None, send))  # type: ignore[arg-type]

    posts = [request(index) for index in range(6)]
    await asyncio.sleep(0.05)
    assert sent == [0, 1, 2]  # a consumer not yet known to keep connections alive: 3 at a time
    posts[3].cancel()  # while it waits
    answers[0].set()
    await asyncio.sleep(0)  # post 0 is answered and hands its slot to post 4 ...
    posts[4].cancel()  # ... which is cancelled before it can use it
    await asyncio.sleep(0.05)
    assert sent == [0, 1, 2, 5]
    for answer in answers:
        answer.set()
    await asyncio.gather(*posts, return_exceptions=True)
    assert (gate.in_flight, gate.limit) == (0, CLOSING_CONSUMER_POSTS)


async def test_an_admins_endpoint_whose_name_now_resolves_inside_is_never_connected_to(clients):
    """DNS rebinding: a public-only endpoint's host answering 127.0.0.1 gets no connection."""
    reached = []

    async def inside(request: Request) -> Response:
        reached.append(request.url.path)
        return Response(status_code=204)

    async with serve(Starlette(routes=[Route("/events", inside, methods=["POST"])])) as base:
        url = base.replace("127.0.0.1", "localhost") + "/events"
        event = OutboxEvent(id="evt_rebound", payload={"n": 1}, request_id=None)
        guarded = Destination("ep_rebound", url, (SECRET,), public_only=True)
        session = clients.session(guarded.id, url, public_only=True)
        status, error = await post(event, guarded, DeliveryPolicy(), session)
        assert (status, reached) == (None, [])
        assert error is not None and error.startswith("ClientConnectorDNSError")
        configured = Destination("ep_configured", url, (SECRET,))
        session = clients.session(configured.id, url)
        assert (await post(event, configured, DeliveryPolicy(), session))[0] == 204
    assert reached == ["/events"]  # the operator's own endpoint still reaches inside


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_a_failed_attempt_never_followed_inside(clients, status):
    """An endpoint answering a redirect to an inside address: never followed, not delivered.

    The redirect's target (an IP literal, so no resolver would have checked it) is never
    reached, whatever the endpoint's public-only guard.
    """
    reached = []

    async def inside(request: Request) -> Response:
        reached.append(request.method)
        return Response(status_code=204)

    async with serve(Starlette(routes=[Route("/meta", inside, methods=["GET", "POST"])])) as target:

        async def redirect(request: Request) -> Response:
            return Response(status_code=status, headers={"location": f"{target}/meta"})

        async with serve(Starlette(routes=[Route("/events", redirect, methods=["POST"])])) as base:
            url = base + "/events"
            event = OutboxEvent(id="evt_redirected", payload={"n": 1}, request_id=None)
            destination = Destination("ep_redirect", url, (SECRET,))
            session = clients.session(destination.id, url)
            delivered, error = await post(event, destination, DeliveryPolicy(), session)
    assert (delivered, reached) == (status, [])
    assert error is not None  # kept as the attempt's failure, retried as any other
