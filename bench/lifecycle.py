"""Rows 10 and 11: createPaymentIntent with fresh keys, capturePayment of fresh authorizations.

Measured by timing real HTTP requests from this process (32 at a time, the wrk rows'
connections), because a capture succeeds once per authorization: each request needs its
own AUTHORIZED payment, seeded first, which a looping wrk script cannot give it.
"""

import asyncio
import statistics
import time
import uuid
from typing import Any

import httpx

INTENT = (
    "mutation($i: CreatePaymentIntentInput!, $k: String!) { createPaymentIntent(input: $i, "
    "idempotencyKey: $k) { payment { id status } clientSecret errors { code } } }"
)
HOLD = (
    "mutation($i: ChargePaymentInput!, $k: String!) { chargePayment(input: $i, "
    "idempotencyKey: $k) { payment { id status } errors { code } } }"
)
CAPTURE = (
    "mutation($i: CapturePaymentInput!, $k: String!) { capturePayment(input: $i, "
    "idempotencyKey: $k) { payment { id status amountCaptured } errors { code } } }"
)
ORDER = {"orderId": "o", "amount": 1500, "currency": "USD"}

# (scenario, req/s, p50 ms, p99 ms, errors)
Measured = tuple[str, float, float, float, int]


async def lifecycle_rows(api: str, token: str, requests: int, connections: int) -> list[Measured]:
    """Both rows; `requests` of each, `connections` in flight at once."""
    name = "10. createPaymentIntent, fresh keys"
    intent_row = await intents_timed(api, token, name, ORDER, requests, connections)
    held = [_body(HOLD, {**ORDER, "paymentMethodId": "pm_card_visa", "captureMethod": "MANUAL"})]
    async with httpx.AsyncClient(base_url=api, timeout=60, headers=_auth(token)) as client:
        seeded = await _posts(client, held * requests, connections)
        ids = [answer["data"]["chargePayment"]["payment"]["id"] for answer, _ in seeded]
        captures = [_body(CAPTURE, {"paymentId": payment_id}) for payment_id in ids]
        capture_row = await _timed(
            client, "11. capturePayment of fresh authorizations", captures, connections
        )
    return [intent_row, capture_row]


async def intents_timed(
    api: str, token: str, name: str, intent: dict[str, Any], requests: int, connections: int
) -> Measured:
    """A row of `requests` createPaymentIntent calls for `intent`, each with a fresh key."""
    async with httpx.AsyncClient(base_url=api, timeout=60, headers=_auth(token)) as client:
        return await _timed(client, name, [_body(INTENT, intent)] * requests, connections)


async def posted(api: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One GraphQL request with a fresh idempotency key `k`; its decoded answer."""
    async with httpx.AsyncClient(base_url=api, timeout=60, headers=_auth(token)) as client:
        ((answer, _),) = await _posts(client, [_body(query, variables)], 1)
    return answer


def _body(query: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {"query": query, "variables": {"k": uuid.uuid4().hex, "i": variables}}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _timed(
    client: httpx.AsyncClient, name: str, bodies: list[dict[str, Any]], connections: int
) -> Measured:
    started = time.perf_counter()
    answers = await _posts(client, bodies, connections)
    elapsed = time.perf_counter() - started
    latencies = sorted(ms for _, ms in answers)
    errors = sum(1 for answer, _ in answers if _failed(answer))
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return name, len(bodies) / elapsed, quantiles[49], quantiles[98], errors


def _failed(answer: dict[str, Any]) -> bool:
    if answer.get("errors") or not answer.get("data"):
        return True
    return any(payload.get("errors") for payload in answer["data"].values())


async def _posts(
    client: httpx.AsyncClient, bodies: list[dict[str, Any]], connections: int
) -> list[tuple[dict[str, Any], float]]:
    """Each body's decoded answer and its latency in ms, `connections` at a time."""
    limit = asyncio.Semaphore(connections)

    async def one(body: dict[str, Any]) -> tuple[dict[str, Any], float]:
        # A fresh key per request, as a client retrying nothing would send.
        body = {**body, "variables": {**body["variables"], "k": uuid.uuid4().hex}}
        async with limit:
            started = time.perf_counter()
            response = await client.post("/graphql", json=body)
            return response.json(), (time.perf_counter() - started) * 1000

    return await asyncio.gather(*(one(body) for body in bodies))
