"""An isolated stack for fan-out tests: own database, serve and worker processes, receivers."""

import asyncio
import base64
import json
import os
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import POSTGRES_ADMIN_URL, REDIS_URL
from tests.graph.charging import CHARGE, REFUND, charge_input
from tests.processes import PAYMENTS, WorkerProcess, api_process
from tests.support import (
    TEST_JWT_SECRET,
    TEST_WEBHOOK_SECRET,
    graphql,
    new_subject,
    serve,
    token,
)
from tests.tasks.closing_consumer import closing_consumer

OUTBOUND_SECRET = "whsec_" + base64.b64encode(b"fan-out-test-secret-0123456789").decode()


@dataclass
class Receiver:
    """A tiny consumer service: records every request; `answer` decides each status."""

    received: list[dict[str, Any]] = field(default_factory=list)
    answer: Callable[[dict[str, Any]], int] = lambda _: 200

    def app(self) -> Starlette:
        async def receive(request: Request) -> Response:
            record = {"headers": dict(request.headers), "body": await request.body()}
            record["status"], record["at"] = self.answer(record), time.time()
            self.received.append(record)
            return Response(status_code=record["status"])

        return Starlette(routes=[Route("/events", receive, methods=["POST"])])

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Served by uvicorn, which keeps connections alive; yields its base URL."""
        async with serve(self.app()) as url:
            yield url

    def delivered_ids(self) -> set[str]:
        return {r["headers"]["webhook-id"] for r in self.received if r["status"] < 300}

    def attempts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for record in self.received:
            counts[record["headers"]["webhook-id"]] += 1
        return counts


@dataclass
class ClosingReceiver(Receiver):
    """A consumer on Python's http.server in its own process: HTTP/1.0, a connection a request.

    It answers every event 204 (`answer` is not consulted); each request is recorded here
    as it prints it.
    """

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """The consumer's process started, its requests read into `received`; its base URL."""
        async with closing_consumer(self._took) as url:
            yield url

    def _took(self, record: dict[str, Any]) -> None:
        self.received.append({**record, "body": record["body"].encode(), "status": 204})


@dataclass
class Stack:
    api: str
    database_url: str
    env: dict[str, str]
    worker: WorkerProcess
    order: Receiver
    notification: Receiver

    async def charge(self, client: httpx.AsyncClient, sub: str, **overrides: Any) -> dict[str, Any]:
        variables = {"input": charge_input(**overrides), "key": uuid.uuid4().hex}
        body = await graphql(client, CHARGE, variables, bearer=token(sub))
        return body["data"]["chargePayment"]["payment"]

    async def refund(
        self, client: httpx.AsyncClient, sub: str, payment_id: str, amount: int
    ) -> None:
        variables = {"input": {"paymentId": payment_id, "amount": amount}, "key": uuid.uuid4().hex}
        await graphql(client, REFUND, variables, bearer=token(sub))

    async def event_ids(self) -> set[str]:
        connection = await asyncpg.connect(self.database_url)
        try:
            return {row["id"] for row in await connection.fetch("SELECT id FROM outbox_events")}
        finally:
            await connection.close()

    async def query(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.database_url)
        try:
            return await connection.fetch(sql, *args)
        finally:
            await connection.close()


async def charge_many(stack: Stack, count: int, refund_every: int = 0) -> None:
    """Charge `count` payments (refunding some partially), 20 requests at a time."""
    sub = new_subject()
    limit = asyncio.Semaphore(20)

    async def one(index: int) -> None:
        async with limit:
            payment = await stack.charge(client, sub, orderId=f"o-{index}")
            if refund_every and index % refund_every == 0:
                await stack.refund(client, sub, payment["id"], 100)
                await stack.refund(client, sub, payment["id"], 200)

    async with httpx.AsyncClient(base_url=stack.api, timeout=60) as client:
        await asyncio.gather(*(one(i) for i in range(count)))


def versions_in_arrival_order(receiver: Receiver) -> dict[str, list[int]]:
    versions: dict[str, list[int]] = defaultdict(list)
    for record in receiver.received:
        if record["status"] < 300:
            payment = json.loads(record["body"])["data"]["payment"]
            versions[payment["id"]].append(payment["version"])
    return versions


async def wait_until(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(0.1)


@asynccontextmanager
async def fanout_stack(
    redis_url: str = REDIS_URL, order: Receiver | None = None, **env: str
) -> AsyncIterator[Stack]:
    """A fresh database with `payments serve` and `payments worker` pointed at two receivers."""
    order, notification = order or Receiver(), Receiver()
    async with AsyncExitStack() as stack:
        order_url = await stack.enter_async_context(order.serving())
        notification_url = await stack.enter_async_context(notification.serving())
        database_url = await stack.enter_async_context(_database())
        settings = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "GATEWAY": "simulated",
            "JWT_SECRET": TEST_JWT_SECRET,
            "STRIPE_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
            "ORDER_SERVICE_URL": f"{order_url}/events",
            "NOTIFICATION_SERVICE_URL": f"{notification_url}/events",
            "OUTBOUND_WEBHOOK_SECRET": OUTBOUND_SECRET,
            "QUEUE_NAMESPACE": f"fanout-{uuid.uuid4().hex[:8]}",
            "DELIVERY_MIN_BACKOFF_MS": "50",
            "DELIVERY_MAX_BACKOFF_MS": "300",
            "RELAY_INTERVAL_MS": "200",
            "DELIVERY_STRANDED_AFTER_SECONDS": "3",
            "RATE_LIMIT_DEFAULT": "off",
            "RATE_LIMIT_CHARGE": "off",
            "DATABASE_POOL_SIZE": "5",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        full_env = {**os.environ, **settings}
        migrate = await asyncio.create_subprocess_exec(PAYMENTS, "migrate", env=full_env)
        assert await migrate.wait() == 0
        api = (await stack.enter_async_context(api_process(full_env))).url
        worker = stack.enter_context(WorkerProcess.start(full_env))
        yield Stack(api, database_url, full_env, worker, order, notification)


@asynccontextmanager
async def _database() -> AsyncIterator[str]:
    name = f"payments_fanout_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
