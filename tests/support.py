"""Test helpers: tokens, GraphQL calls and serving an ASGI app on a real port."""

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from app.server_bounds import UVICORN_BOUNDS
from models.enums import PaymentStatus
from models.payment import Payment
from payments.shared.auth import CUSTOMER_SCOPES, issue_token

TEST_JWT_SECRET = "test-jwt-secret-0123456789abcdef0123456789"
TEST_WEBHOOK_SECRET = "whsec_dGVzdC1zdHJpcGUtd2ViaG9vay1zZWNyZXQ="
_CAPTURED = {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run `app` under uvicorn in the current event loop; yields `http://127.0.0.1:<port>`."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=2,  # a deliberately hanging handler must not block teardown
        **UVICORN_BOUNDS,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def new_subject() -> str:
    return f"cus_{uuid.uuid4().hex[:12]}"


def token(
    sub: str, scope: str = CUSTOMER_SCOPES, ttl: int = 6 * 3600, secret: str = TEST_JWT_SECRET
) -> str:
    """A customer's token by default; pass `scope=ALL_SCOPES` for an admin (BFF) token.

    Valid for the whole run: module-level tokens are made at collection, and a suite on a
    loaded machine can take longer than a short lifetime.
    """
    return issue_token(secret, sub, scope, ttl)


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    bearer: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST a GraphQL document and return the decoded JSON body."""
    headers = {
        "content-type": "application/json",
        **(headers or {}),
        **({"Authorization": f"Bearer {bearer}"} if bearer else {}),
    }
    # ASCII-escaped JSON, so a test can send a lone surrogate (httpx's json= cannot encode it).
    content = json.dumps({"query": query, "variables": variables or {}})
    response = await client.post("/graphql", content=content, headers=headers)
    assert response.headers["content-type"].startswith("application/json"), response.text
    body: dict[str, Any] = response.json()
    return body


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]


async def create_payment(**fields: Any) -> Payment:
    """A settled payment row written straight to the database (no API, no events)."""
    values = {
        "customer_id": "c",
        "order_id": "o",
        "amount": 1000,
        "currency": "USD",
        "status": PaymentStatus.SUCCEEDED,
        "payment_method_id": "pm_card_visa",
        "gateway": "simulated",
        **fields,
    }
    if values["status"] in _CAPTURED:
        values.setdefault("amount_captured", values["amount"])
    return await Payment.create(**values)
