"""A graphql-transport-ws client over a real WebSocket, for the subscription tests."""

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

PAYMENT_UPDATED = """subscription($id: ID!) {
  paymentUpdated(id: $id) { id status version amountRefunded customerId refunds { amount } }
}"""
PAYMENTS_UPDATED = """subscription($filter: PaymentFilter) {
  paymentsUpdated(filter: $filter) { id status version amountRefunded customerId }
}"""


@dataclass
class LiveClient:
    """One connection: subscribe, then read what the server pushes (pings answered)."""

    ws: ClientConnection
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        operation_id = str(next(self.ids))
        payload = {"query": query, "variables": variables or {}}
        await self.ws.send(
            json.dumps({"id": operation_id, "type": "subscribe", "payload": payload})
        )
        return operation_id

    async def message(self, wait: float = 10) -> dict[str, Any]:
        """The next message that is not a ping (pings get their pong)."""
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), wait))
            if message["type"] != "ping":
                return message
            await self.ws.send(json.dumps({"type": "pong"}))

    async def pushes(self, until: float) -> list[dict[str, Any]]:
        """Every payment pushed until `until` seconds of silence."""
        pushed = []
        try:
            while True:
                message = await self.message(until)
                assert message["type"] == "next", message
                pushed.append(next(iter(message["payload"]["data"].values())))
        except TimeoutError:
            return pushed


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def live_client(base_url: str, bearer: str) -> AsyncIterator[LiveClient]:
    """A connection acknowledged by the server for the holder of `bearer`."""
    async with websockets.connect(ws_url(base_url), subprotocols=["graphql-transport-ws"]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {bearer}"}}
        await ws.send(json.dumps(init))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        yield LiveClient(ws)
