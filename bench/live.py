"""Rows 12-14: push latency beside idle subscribers, their memory, paymentStats over 100,000.

Issue 17 asks for push latency at 100 changes/s with 2,000 idle subscribers, the memory of
those subscribers per API process, and `paymentStats` over 100,000 payments. Measured from
this process: real WebSockets (graphql-transport-ws, the `websockets` package, as in
tests/graph/live/) and real HTTP requests against `payments serve --workers 2`.

- Idle subscribers are distinct principals (the API bounds connections per principal),
  each subscribed to `paymentsUpdated`, whose payments never change: they cost the API
  their connections and subscriptions, and must receive nothing.
- Active subscribers: one per payment owner; the charges are spread over the owners, so
  each push goes to exactly one connection, wherever the kernel placed it.
- A push's latency is from the chargePayment response arriving here (and, second figure,
  from the payment's `updatedAt`) to the push of that (payment, version) arriving here.
"""

import asyncio
import contextlib
import json
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from bench.stack import JWT_SECRET, Stack, rss_mb
from payments.shared.auth import ALL_SCOPES, issue_token

IDLE = int(os.environ.get("BENCH_LIVE_IDLE", "2000"))
OWNERS = int(os.environ.get("BENCH_LIVE_OWNERS", "100"))
RATE = int(os.environ.get("BENCH_LIVE_RATE", "100"))
SECONDS = int(os.environ.get("BENCH_LIVE_SECONDS", "15"))
STATS_PAYMENTS = int(os.environ.get("BENCH_STATS_PAYMENTS", "100000"))
STATS_CALLS = int(os.environ.get("BENCH_STATS_CALLS", "200"))
STATS_CUSTOMERS = 1000  # so one customer has STATS_PAYMENTS / 1000 payments
OPENING = 50  # WebSocket handshakes in flight at once
SETTLE_SECONDS = 5  # how long after the last charge a push may still arrive

SUBSCRIBE = "subscription { paymentsUpdated { id version status updatedAt } }"
CHARGE = (
    "mutation($i: ChargePaymentInput!, $k: String!) { chargePayment(input: $i, "
    "idempotencyKey: $k) { payment { id version status updatedAt } errors { code } } }"
)
STATS = (
    "query($from: DateTime!, $to: DateTime!) { paymentStats(from: $from, to: $to) "
    "{ count succeededCount failedCount successRate "
    "byCurrency { currency count amountCaptured amountRefunded net } "
    "byStatus { status count amount } } }"
)
# 100,000 payments in one statement: a mix of outcomes that satisfies the CHECKs (captured
# <= amount, refunded <= captured), created over the last 90 days, 1,000 customers.
INSERT_PAYMENTS = """
INSERT INTO payments (
    id, customer_id, order_id, amount, currency, status, amount_refunded,
    amount_refund_pending, payment_method_id, flow, capture_method, amount_capturable,
    amount_captured, amount_capture_pending, confirmation_attempts, gateway, version,
    created_at, updated_at
)
SELECT
    'pay_stats_' || lpad(i::text, 12, '0'),
    'stats-customer-' || (i % $2::int),
    'stats-order-' || i,
    amount,
    CASE WHEN i % 3 = 0 THEN 'EUR' ELSE 'USD' END,
    status,
    CASE status WHEN 'REFUNDED' THEN amount WHEN 'PARTIALLY_REFUNDED' THEN amount / 2
        ELSE 0 END,
    0, 'pm_card_visa', 'CHARGE', 'AUTOMATIC', 0,
    CASE WHEN status = 'FAILED' THEN 0 ELSE amount END,
    0, 1, 'simulated', 2, created, created
FROM (
    SELECT
        i,
        100 + (i * 7919) % 100000 AS amount,
        CASE
            WHEN i % 20 < 16 THEN 'SUCCEEDED'
            WHEN i % 20 < 18 THEN 'FAILED'
            WHEN i % 20 = 18 THEN 'REFUNDED'
            ELSE 'PARTIALLY_REFUNDED'
        END AS status,
        now() - (i % 7776000) * interval '1 second' AS created
    FROM generate_series(1, $1::int) AS i
) AS generated
"""

# (scenario, req/s, p50 ms, p99 ms, errors, target)
Measured = tuple[str, float, float, float, int, str]


@dataclass
class Subscriber:
    """One acknowledged connection with a paymentsUpdated subscription, read in the background."""

    ws: ClientConnection
    arrivals: dict[tuple[str, int], float] = field(default_factory=dict)
    reader: "asyncio.Task[None] | None" = None

    async def read(self) -> None:
        """Record when each (payment, version) arrives; answer pings."""
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                message = json.loads(raw)
                if message["type"] == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                elif message["type"] == "next":
                    payment = message["payload"]["data"]["paymentsUpdated"]
                    self.arrivals.setdefault((payment["id"], payment["version"]), time.time())


async def live_rows(stack: Stack) -> list[Measured]:
    """Rows 12 and 13 (idle subscribers held while charges are pushed), then row 14."""
    # A first batch, closed again, so one-time costs (imports, caches) are not counted as theirs.
    async with _subscribers(stack, _subjects("warm", 50)):
        pass
    idle_subjects = _subjects("idle", IDLE)
    async with _subscribers(stack, idle_subjects) as (idle, memory):
        push = await _push_latency(stack, idle)
    return [push, memory, *await _stats_rows(stack)]


def _subjects(kind: str, count: int) -> list[str]:
    return [f"bench-{kind}-{i}-{uuid.uuid4().hex[:12]}" for i in range(count)]


@contextlib.asynccontextmanager
async def _subscribers(
    stack: Stack, subjects: list[str]
) -> AsyncIterator[tuple[list[Subscriber], Measured]]:
    """A subscriber per subject, in their order; and row 13, what they cost the API."""
    pids = stack.worker_pids("api")
    before = {pid: (rss_mb(pid), _sockets(pid)) for pid in pids}
    async with contextlib.AsyncExitStack() as exits:
        limit = asyncio.Semaphore(OPENING)

        async def one(subject: str) -> Subscriber:
            async with limit:
                return await _subscriber(exits, stack.api, subject)

        subscribers = await asyncio.gather(*(one(subject) for subject in subjects))
        await asyncio.sleep(2)  # the last subscriptions registered, the allocator settled
        after = {pid: (rss_mb(pid), _sockets(pid)) for pid in pids}
        yield list(subscribers), _memory_row(len(subjects), before, after)


async def _subscriber(exits: contextlib.AsyncExitStack, api: str, subject: str) -> Subscriber:
    url = api.replace("http://", "ws://") + "/graphql"
    # No client pings: the server's keep-alive pings are answered by the reader.
    ws = await exits.enter_async_context(
        websockets.connect(
            url, subprotocols=[Subprotocol("graphql-transport-ws")], ping_interval=None
        )
    )
    token = issue_token(JWT_SECRET, subject, "payments:read payments:write", 3600)
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    await ws.send(json.dumps(init))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 30))
    if ack["type"] != "connection_ack":
        raise RuntimeError(f"{subject} was refused: {ack}")
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    subscriber = Subscriber(ws)
    subscriber.reader = asyncio.create_task(subscriber.read())
    return subscriber


def _sockets(pid: int) -> int:
    """Open sockets of a process: a WebSocket subscriber holds one on the API side."""
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if _link(fd).startswith("socket:"))


def _link(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _memory_row(
    count: int, before: dict[int, tuple[float, int]], after: dict[int, tuple[float, int]]
) -> Measured:
    parts = []
    for pid, (rss, sockets) in before.items():
        rss_after, sockets_after = after[pid]
        held = max(sockets_after - sockets, 0)
        if not held:
            continue  # uvicorn's supervisor or a helper process, not a worker
        per = (rss_after - rss) * 1024 / held if held else 0.0
        parts.append(f"{held} subs: {rss:.0f}->{rss_after:.0f} MB, {per:.0f} KB each")
    name = f"13. memory of {count} idle subscribers per API worker"
    return name, 0, 0, 0, 0, "; ".join(parts)


async def _push_latency(stack: Stack, idle: list[Subscriber]) -> Measured:
    """Charges at RATE/s for SECONDS, each owner's one subscriber timing its pushes."""
    owners = _subjects("owner", OWNERS)
    tokens = [issue_token(JWT_SECRET, owner, "payments:read payments:write") for owner in owners]
    async with _subscribers(stack, owners) as (active, _):
        await asyncio.sleep(1)
        charged = await _charges(stack.api, tokens)
        await _settled(active, charged)
    from_response, from_updated, lost = [], [], 0
    for owner, (payment, responded_at) in charged:
        arrived = active[owner].arrivals.get((payment["id"], payment["version"]))
        if arrived is None:
            lost += 1
            continue
        from_response.append((arrived - responded_at) * 1000)
        updated = datetime.fromisoformat(payment["updatedAt"]).timestamp()
        from_updated.append((arrived - updated) * 1000)
    failed = RATE * SECONDS - len(charged)
    strays = sum(len(s.arrivals) for s in idle)  # idle principals own no payment
    p50, p99 = _quantiles(from_response)
    u50, u99 = _quantiles(from_updated)
    name = f"12. push latency at {RATE}/s, {len(idle)} idle + {OWNERS} active subscribers"
    target = (
        f"p99<1000 ms; from updatedAt p50 {u50:.0f} p99 {u99:.0f} ms; "
        f"{len(charged)} changes, {lost} not pushed, {failed} charges failed, "
        f"{strays} pushes to idle"
    )
    return name, len(from_response) / SECONDS, p50, p99, lost + failed + strays, target


async def _charges(api: str, tokens: list[str]) -> list[tuple[int, tuple[dict[str, Any], float]]]:
    """RATE charges a second, owner by owner in turn; each payment and when its answer came."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=api, timeout=30, limits=limits) as client:

        async def charge(owner: int) -> tuple[int, tuple[dict[str, Any], float]] | None:
            body = {
                "query": CHARGE,
                "variables": {
                    "k": uuid.uuid4().hex,
                    "i": {
                        "orderId": f"live-{uuid.uuid4().hex[:8]}",
                        "amount": 1500,
                        "currency": "USD",
                        "paymentMethodId": "pm_card_visa",
                    },
                },
            }
            headers = {"Authorization": f"Bearer {tokens[owner]}"}
            try:
                response = await client.post("/graphql", json=body, headers=headers)
                responded_at = time.time()
                payment = response.json()["data"]["chargePayment"]["payment"]
            except (httpx.HTTPError, KeyError, TypeError, ValueError):
                return None
            return (owner, (payment, responded_at)) if payment else None

        started, tasks = time.time(), []
        for i in range(RATE * SECONDS):
            await asyncio.sleep(max(0.0, started + i / RATE - time.time()))
            tasks.append(asyncio.create_task(charge(i % len(tokens))))
        answers = await asyncio.gather(*tasks)
    return [answer for answer in answers if answer is not None]


async def _settled(
    active: list[Subscriber], charged: list[tuple[int, tuple[dict[str, Any], float]]]
) -> None:
    """Until every change was pushed, or SETTLE_SECONDS passed."""
    deadline = time.time() + SETTLE_SECONDS
    while time.time() < deadline:
        if all((p["id"], p["version"]) in active[o].arrivals for o, (p, _) in charged):
            return
        await asyncio.sleep(0.1)


async def _stats_rows(stack: Stack) -> list[Measured]:
    """Row 14: paymentStats over STATS_PAYMENTS payments inserted in one statement."""
    started = time.perf_counter()
    await stack.sql(INSERT_PAYMENTS, STATS_PAYMENTS, STATS_CUSTOMERS)
    await stack.sql("ANALYZE payments")  # as autovacuum would, soon after such a load
    inserted_in = time.perf_counter() - started
    admin = issue_token(JWT_SECRET, "bench-stats-admin", ALL_SCOPES, 3600)
    customer = issue_token(JWT_SECRET, "stats-customer-7", "payments:read", 3600)
    per_customer = STATS_PAYMENTS // STATS_CUSTOMERS
    rows: list[Measured] = []
    for who, token in (("admin, all", admin), (f"one customer's {per_customer}", customer)):
        name = f"14. paymentStats over {STATS_PAYMENTS} payments: {who}"
        rps, p50, p99, errors, count, problem = await _timed_stats(stack.api, token)
        target = f"{STATS_CALLS} calls one at a time; count {count}"
        if problem:
            target += f"; error: {problem}"
        if not rows:
            target += f"; inserted in {inserted_in:.1f} s"
        rows.append((name, rps, p50, p99, errors, target))
    return rows


async def _timed_stats(api: str, token: str) -> tuple[float, float, float, int, int, str]:
    """req/s, p50, p99 and errors of STATS_CALLS calls in sequence; count and first error."""
    body = {
        "query": STATS,
        "variables": {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"},
    }
    headers = {"Authorization": f"Bearer {token}"}
    latencies, errors, count, problem = [], 0, 0, ""
    async with httpx.AsyncClient(base_url=api, timeout=60, headers=headers) as client:
        for _ in range(5):  # warm-up: the plan cached, the index's pages in memory
            await client.post("/graphql", json=body)
        started = time.perf_counter()
        for _ in range(STATS_CALLS):
            sent = time.perf_counter()
            answer = (await client.post("/graphql", json=body)).json()
            latencies.append((time.perf_counter() - sent) * 1000)
            if answer.get("errors") or not answer.get("data"):
                errors += 1
                problem = problem or str((answer.get("errors") or [{}])[0].get("message"))
            else:
                count = answer["data"]["paymentStats"]["count"]
        elapsed = time.perf_counter() - started
    p50, p99 = _quantiles(latencies)
    return STATS_CALLS / elapsed, p50, p99, errors, count, problem


def _quantiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0], values[0]) if values else (0.0, 0.0)
    cuts = statistics.quantiles(values, n=100)
    return cuts[49], cuts[98]
