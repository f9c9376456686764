"""Rate budgets against card testing (RATE_LIMIT_CHARGE) and strangers (RATE_LIMIT_ANONYMOUS)."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
import websockets

from app.factory import create_app
from app.wiring import simulated_gateway
from models.payment import Payment
from payments.shared.settings import Settings
from tests.conftest import REDIS_URL, make_settings
from tests.graph.charging import CHARGE, charge_input
from tests.graph.lifecycle import CREATE_INTENT, MUTATIONS
from tests.graph.live.client import ws_url
from tests.support import error_codes, graphql, new_subject, serve, token

TYPENAME = {"query": "{ __typename }"}


@asynccontextmanager
async def _served(database_url: str, **budgets: str) -> AsyncIterator[tuple[str, Settings]]:
    """An API with its own budgets; yields its URL and settings.

    It keeps the session's QUEUE_NAMESPACE (the process has one Dramatiq broker, and the
    first app makes it): limiter keys stay apart by fresh subjects, and by each test's
    own addresses (the namespace, unique per session, parts runs).
    """
    settings = make_settings(database_url, **budgets)
    gateway = simulated_gateway(settings)
    async with serve(create_app(settings, gateway=gateway, owns_database=False)) as url:
        yield url, settings


async def _call(
    client: httpx.AsyncClient, sub: str, name: str, **fields: Any
) -> tuple[dict[str, Any], list[str]]:
    """Run lifecycle mutation `name`; its payload (None when refused) and error codes."""
    document = CREATE_INTENT if name == "createPaymentIntent" else MUTATIONS[name]
    variables = {"input": fields, "key": uuid.uuid4().hex}
    body = await graphql(client, document, variables, bearer=token(sub))
    return (body.get("data") or {}).get(name), error_codes(body)


async def test_spent_charge_budget_refuses_confirms_before_the_gateway(database_url):
    """With RATE_LIMIT_CHARGE spent, 40 declined confirms on one intent never reach the gateway."""
    sub = new_subject()
    async with (
        _served(database_url, rate_limit_charge="3/minute") as (url, _),
        httpx.AsyncClient(base_url=url) as client,
    ):
        intent, _ = await _call(
            client, sub, "createPaymentIntent", orderId="o-ct", amount=5000, currency="usd"
        )
        payment_id = intent["payment"]["id"]
        declined = {"paymentId": payment_id, "paymentMethodId": "pm_card_chargeDeclined"}
        allowed = [await _call(client, sub, "confirmPayment", **declined) for _ in range(2)]
        refused = [await _call(client, sub, "confirmPayment", **declined) for _ in range(40)]
        capture, capture_codes = await _call(client, sub, "capturePayment", paymentId=payment_id)
        charged = await graphql(
            client, CHARGE, {"input": charge_input(), "key": "ct"}, bearer=token(sub)
        )
        another_intent, intent_codes = await _call(
            client, sub, "createPaymentIntent", orderId="o-ct2", amount=5000, currency="usd"
        )
        reads = await graphql(client, "{ payments { nodes { id } } }", bearer=token(sub))
    assert [payload["payment"]["failureCode"] for payload, _ in allowed] == ["card_declined"] * 2
    assert {tuple(codes) for _, codes in refused} == {("RATE_LIMITED",)}
    assert all(payload is None for payload, _ in refused)
    assert (capture, capture_codes) == (None, ["RATE_LIMITED"])
    assert error_codes(charged) == ["RATE_LIMITED"]
    assert (another_intent, intent_codes) == (None, ["RATE_LIMITED"])
    assert error_codes(reads) == []
    # Only the two allowed confirmations were attempted (each attempt calls the gateway once).
    assert (await Payment.get(id=payment_id)).confirmation_attempts == 2
    assert await Payment.filter(customer_id=sub).count() == 1


async def test_twelve_aliased_confirms_are_refused_as_a_document(http):
    """A document of 12 aliased confirmPayment fields is refused whole: no attempt is made."""
    sub = new_subject()
    intent = await graphql(
        http,
        CREATE_INTENT,
        {"input": {"orderId": "o-12", "amount": 5000, "currency": "usd"}, "key": "k12"},
        bearer=token(sub),
    )
    payment_id = intent["data"]["createPaymentIntent"]["payment"]["id"]
    fields = " ".join(
        f'c{i}: confirmPayment(idempotencyKey: "k{i}", input: {{paymentId: "{payment_id}", '
        f'paymentMethodId: "pm_card_chargeDeclined"}}) {{ payment {{ status }} }}'
        for i in range(12)
    )
    body = await graphql(http, f"mutation {{ {fields} }}", bearer=token(sub))
    assert body["data"] is None
    assert set(error_codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "one money-moving mutation" in body["errors"][0]["message"]
    assert (await Payment.get(id=payment_id)).confirmation_attempts == 0


@pytest.mark.parametrize(
    ("first", "second"),
    [("confirmPayment", "capturePayment"), ("createPaymentIntent", "refundPayment")],
)
async def test_two_different_money_mutations_share_one_document_rule(http, first, second):
    """Any two money mutations (charging or refund) in one document are refused together."""
    arguments = {
        "confirmPayment": '{paymentId: "p", paymentMethodId: "pm_card_visa"}',
        "capturePayment": '{paymentId: "p"}',
        "createPaymentIntent": '{orderId: "o", amount: 500, currency: "usd"}',
        "refundPayment": '{paymentId: "p"}',
    }
    fields = " ".join(
        f'{name}(idempotencyKey: "k", input: {arguments[name]}) {{ errors {{ code }} }}'
        for name in (first, second)
    )
    sub = new_subject()
    body = await graphql(http, f"mutation {{ {fields} }}", bearer=token(sub))
    assert "one money-moving mutation" in body["errors"][0]["message"]
    assert not await Payment.filter(customer_id=sub).exists()


async def _anonymous(client: httpx.AsyncClient, address: str, bearer: str | None = None) -> Any:
    headers = {"x-forwarded-for": address}
    if bearer is not None:
        headers["authorization"] = f"Bearer {bearer}"
    return await client.post("/graphql", json=TYPENAME, headers=headers)


async def _ws_init(url: str, address: str, payload: dict[str, str]) -> dict[str, Any] | int:
    """The server's answer to connection_init: its message, or the close code."""
    async with websockets.connect(
        ws_url(url),
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        additional_headers={"x-forwarded-for": address},
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            answer: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code
        return answer


async def test_a_strangers_burst_gets_429_while_its_address_signed_in_clients_pass(database_url):
    """After 5 tokenless (or bad-token) calls an address gets 429 + Retry-After, HTTP and WS alike.

    A signed-in client from the same address, and other addresses, are unaffected; webhooks,
    health and metrics are outside the budget. The 429 follows the response media type.
    """
    attacker, neighbour_address = "10.1.0.7", "10.1.0.8"
    async with (
        _served(database_url, rate_limit_anonymous="5/minute") as (url, _),
        httpx.AsyncClient(base_url=url) as client,
    ):
        burst = [await _anonymous(client, attacker, "forged" if i % 2 else None) for i in range(8)]
        ws_refused = await _ws_init(url, attacker, {})
        modern_refused = await client.post(
            "/graphql",
            json=TYPENAME,
            headers={"x-forwarded-for": attacker, "accept": "application/graphql-response+json"},
        )
        signed_in = await _anonymous(client, attacker, token(new_subject()))
        ws_signed_in = await _ws_init(url, attacker, {"Authorization": f"Bearer {token('c')}"})
        neighbour = await _anonymous(client, neighbour_address)
        outside = [
            await client.get("/health/live", headers={"x-forwarded-for": attacker}),
            await client.get("/metrics", headers={"x-forwarded-for": attacker}),
            await client.post(
                "/webhooks/stripe", content=b"{}", headers={"x-forwarded-for": attacker}
            ),
        ]
    assert [r.status_code for r in burst] == [200] * 5 + [429] * 3
    refused = burst[-1]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.json()["errors"][0]["extensions"] == {
        "code": "RATE_LIMITED",
        "retryAfter": int(refused.headers["retry-after"]),
    }
    assert refused.json()["data"] is None
    assert ws_refused == 4429
    # Shaped as every refusal before execution: no data under the GraphQL response type.
    assert modern_refused.status_code == 429
    assert modern_refused.headers["content-type"] == "application/graphql-response+json"
    assert "data" not in modern_refused.json()
    assert (signed_in.status_code, signed_in.json()) == (200, {"data": {"__typename": "Query"}})
    assert ws_signed_in == {"type": "connection_ack"}
    assert neighbour.status_code == 200
    assert [r.status_code for r in outside] == [200, 200, 400]


async def test_anonymous_budget_keys_stay_bounded_and_expire(database_url):
    """500 IPv4 addresses hold 500 keys; 500 addresses of one IPv6 /64 hold one; all expire."""
    network, host = "10.2", "2001:db8:2:2"
    async with (
        _served(database_url, rate_limit_anonymous="120/minute") as (url, settings),
        httpx.AsyncClient(base_url=url) as client,
    ):
        for i in range(500):
            await _anonymous(client, f"{network}.{i // 250}.{i % 250}")
        one_host = [await _anonymous(client, f"{host}::{i:x}") for i in range(500)]
    store = redis.Redis.from_url(REDIS_URL)
    try:
        prefix = f"*{settings.queue_namespace}/anonymous/"
        keys = [key async for key in store.scan_iter(f"{prefix}{network}.*")]
        keys += [key async for key in store.scan_iter(f"{prefix}{host}::/64*")]
        ttls = [await store.ttl(key) for key in keys]
        await store.delete(*keys)
    finally:
        await store.aclose()
    assert len(keys) == 501
    assert all(0 < ttl <= 60 for ttl in ttls)
    assert [r.status_code for r in one_host] == [200] * 120 + [429] * 380


async def test_anonymous_budget_off_disables_it(database_url):
    """RATE_LIMIT_ANONYMOUS=off: a stranger is never refused for want of budget."""
    async with (
        _served(database_url, rate_limit_anonymous="off") as (url, _),
        httpx.AsyncClient(base_url=url) as client,
    ):
        answers = [await _anonymous(client, "10.3.0.7") for _ in range(150)]
    assert {r.status_code for r in answers} == {200}
