"""graphql-ws's reference client as a live subscriber, and the back-to-back changes it must see."""

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.graph.charging import CHARGE, REFUND, charge_input
from tests.graph.live.client import ws_url
from tests.support import graphql

REFUND_AMOUNT = 100
# A charge, then two partial refunds: each version with its own status and amounts.
EXPECTED = [
    (2, "SUCCEEDED", 0, 10_000),
    (3, "PARTIALLY_REFUNDED", 100, 9_900),
    (4, "PARTIALLY_REFUNDED", 200, 9_800),
]
WITHIN_SECONDS = 1.0


@dataclass
class Push:
    payment: dict[str, Any]
    at: float  # time.monotonic() when the line was read


@dataclass
class Run:
    """One payment's changes, sent back to back, and when each one's response came back."""

    payment_id: str
    answered_at: list[float]

    def seen(self, pushes: list[Push]) -> list[tuple[int, str, int, int]]:
        return [
            (p["version"], p["status"], p["amountRefunded"], p["amountRefundable"])
            for p in (push.payment for push in self.mine(pushes))
        ]

    def mine(self, pushes: list[Push]) -> list[Push]:
        return [p for p in pushes if p.payment.get("id") == self.payment_id]

    def late(self, pushes: list[Push]) -> list[float]:
        """How long after its mutation's answer each pushed version came, where over the bound."""
        delays = [p.at - t for p, t in zip(self.mine(pushes), self.answered_at, strict=False)]
        return [round(d, 3) for d in delays if d > WITHIN_SECONDS]


@dataclass
class ReferenceSubscriber:
    """The node process's pushes as they are read from its standard output."""

    pushes: list[Push] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, runs: list[Run], seconds: float) -> None:
        """Until every run's payment has all its versions pushed, or `seconds` pass."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while any(len(run.mine(self.pushes)) < len(EXPECTED) for run in runs):
                    self.arrived.clear()
                    await self.arrived.wait()

    async def read(self, stream: asyncio.StreamReader, connected: asyncio.Event) -> None:
        while line := await stream.readline():
            message = json.loads(line)
            assert "error" not in message and "errors" not in message, message
            if message.get("connected"):
                connected.set()
            else:
                self.pushes.append(Push(message, time.monotonic()))
                self.arrived.set()


@asynccontextmanager
async def reference_subscriber(
    scripts: Path, base_url: str, bearer: str
) -> AsyncIterator[ReferenceSubscriber]:
    """`node live-versions.mjs` subscribed to paymentsUpdated as the holder of `bearer`."""
    process = await asyncio.create_subprocess_exec(
        "node",
        "live-versions.mjs",
        ws_url(base_url),
        bearer,
        cwd=scripts,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    subscriber, connected = ReferenceSubscriber(), asyncio.Event()
    reading = asyncio.create_task(subscriber.read(process.stdout, connected))
    try:
        await asyncio.wait_for(connected.wait(), 30)
        yield subscriber
    finally:
        process.terminate()
        await process.wait()
        await reading


async def back_to_back(http: httpx.AsyncClient, bearer: str) -> Run:
    """A charge and two partial refunds, each sent as soon as the previous one answers."""
    variables = {"input": charge_input(), "key": uuid.uuid4().hex}
    charged = await graphql(http, CHARGE, variables, bearer=bearer)
    answered_at = [time.monotonic()]
    payment_id = charged["data"]["chargePayment"]["payment"]["id"]
    for _ in range(2):
        variables = {
            "input": {"paymentId": payment_id, "amount": REFUND_AMOUNT},
            "key": uuid.uuid4().hex,
        }
        refunded = await graphql(http, REFUND, variables, bearer=bearer)
        assert not refunded["data"]["refundPayment"]["errors"], refunded
        answered_at.append(time.monotonic())
    return Run(payment_id, answered_at)


async def watched_runs(
    subscriber: ReferenceSubscriber, http: httpx.AsyncClient, bearer: str, count: int
) -> list[Run]:
    """`count` back-to-back runs after a first one that shows the subscription is live."""
    await subscriber.wait_for([await back_to_back(http, bearer)], seconds=15)
    runs = [await back_to_back(http, bearer) for _ in range(count)]
    await subscriber.wait_for(runs, seconds=5)
    return runs


def assert_every_version_pushed(subscriber: ReferenceSubscriber, runs: list[Run]) -> None:
    """Each run's versions all pushed, in order, with their own state, within the bound."""
    seen = [run.seen(subscriber.pushes) for run in runs]
    assert all(versions == EXPECTED for versions in seen), seen
    assert all(not run.late(subscriber.pushes) for run in runs), [
        run.late(subscriber.pushes) for run in runs
    ]
