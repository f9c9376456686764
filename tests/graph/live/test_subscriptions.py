"""Subscriptions over a real WebSocket to the API, fed by a real `payments worker`'s relay."""

import asyncio
import json

import pytest
import redis.asyncio as redis
import websockets

from payments.live.hub import client_name
from tests.conftest import QUEUE_NAMESPACE, REDIS_URL
from tests.graph.charging import charge, refund
from tests.graph.live.client import PAYMENT_UPDATED, PAYMENTS_UPDATED, live_client, ws_url
from tests.support import new_subject, token


async def _closed_with(base_url: str, payload: dict, protocol: str = "graphql-transport-ws"):
    async with websockets.connect(ws_url(base_url), subprotocols=[protocol]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    return closed.value.rcvd.code if closed.value.rcvd else None


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Bearer " + token("x", secret="o" * 40)},
    ],
    ids=["missing", "malformed", "wrong-signature"],
)
async def test_a_bad_token_in_connection_init_closes_with_4403(server, payload):
    """No token, a malformed one, or one signed with another secret: closed with 4403."""
    assert await _closed_with(server, payload) == 4403


async def test_the_token_expiry_closes_the_socket(server):
    """A token valid for two more seconds: acknowledged, then closed with 4403 when it lapses."""
    async with live_client(server, token(new_subject(), ttl=2)) as client:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await client.message(wait=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_the_legacy_graphql_ws_protocol_is_refused(server):
    """Only graphql-transport-ws is spoken: a graphql-ws client gets no protocol of its own."""
    with pytest.raises((websockets.InvalidHandshake, websockets.ConnectionClosed)):
        async with websockets.connect(ws_url(server), subprotocols=["graphql-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            await asyncio.wait_for(ws.recv(), 10)


async def test_connections_per_principal_are_bounded(server, settings):
    """One connection past LIVE_MAX_CONNECTIONS_PER_PRINCIPAL is closed with 4429."""
    bearer, limit = token(new_subject()), settings.live_max_connections_per_principal
    clients = [live_client(server, bearer) for _ in range(limit)]
    for client in clients:
        await client.__aenter__()
    try:
        assert await _closed_with(server, {"Authorization": f"Bearer {bearer}"}) == 4429
    finally:
        for client in clients:
            await client.__aexit__(None, None, None)


async def test_each_change_reaches_only_its_owner_once_and_in_order(server, http, worker):
    """A webhook-finished charge, a card charge and two refunds: every version, once, in order."""
    owner, stranger = new_subject(), new_subject()
    async with (
        live_client(server, token(owner)) as mine,
        live_client(server, token(stranger)) as theirs,
    ):
        await mine.subscribe(PAYMENTS_UPDATED)
        await theirs.subscribe(PAYMENTS_UPDATED)
        await asyncio.sleep(0.2)
        slow = (await charge(http, owner, paymentMethodId="pm_sim_processing"))["payment"]
        card = (await charge(http, owner))["payment"]
        pushed = await mine.pushes(until=3)
        await refund(http, owner, card["id"], amount=100)
        pushed += await mine.pushes(until=1.5)
        await refund(http, owner, card["id"])
        pushed += await mine.pushes(until=1.5)
        assert await theirs.pushes(until=0.5) == []
    by_payment = {
        p: [(x["version"], x["status"]) for x in pushed if x["id"] == p]
        for p in (slow["id"], card["id"])
    }
    assert by_payment[slow["id"]] == [(2, "PROCESSING"), (3, "SUCCEEDED")]
    assert by_payment[card["id"]] == [(2, "SUCCEEDED"), (3, "PARTIALLY_REFUNDED"), (4, "REFUNDED")]


async def test_another_customers_payment_reads_as_not_found(server, http):
    """Subscribing to someone else's payment ends with NOT_FOUND, never 'forbidden'."""
    payment = (await charge(http, new_subject()))["payment"]
    async with live_client(server, token(new_subject())) as client:
        await client.subscribe(PAYMENT_UPDATED, {"id": payment["id"]})
        message = await client.message()
    assert message["type"] in ("error", "next"), message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"]


async def _drop_live_subscriptions() -> int:
    """Kill this session's hub connections in Redis (only ours: they carry our namespace)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        ours = [c for c in await client.client_list() if c["name"] == client_name(QUEUE_NAMESPACE)]
        for connection in ours:
            await client.client_kill_filter(_id=connection["id"])
        return len(ours)
    finally:
        await client.aclose()


async def test_publications_missed_while_disconnected_heal_to_the_latest_state(
    server, http, worker
):
    """Versions published while the hub's Redis link is down all arrive once it is back."""
    owner = new_subject()
    payment = (await charge(http, owner))["payment"]
    async with live_client(server, token(owner)) as client:
        await client.subscribe(PAYMENT_UPDATED, {"id": payment["id"]})
        await asyncio.sleep(0.2)
        assert await _drop_live_subscriptions() >= 1
        for amount in (100, 200, 300):
            await refund(http, owner, payment["id"], amount=amount)
        pushed = await client.pushes(until=4)
    versions = [p["version"] for p in pushed]
    assert versions == sorted(set(versions)), versions
    # The charge (version 2) may come too: it was committed just before the link broke.
    refunded = [(p["version"], p["amountRefunded"]) for p in pushed if p["version"] > 2]
    assert refunded == [(3, 100), (4, 300), (5, 600)]
    assert pushed[-1]["refunds"] == [{"amount": 100}, {"amount": 200}, {"amount": 300}]
