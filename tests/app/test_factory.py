"""Routes besides GraphQL execution: health, metrics, GraphiQL, WebSocket, bad requests."""

import asyncio
import gc
import json
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import jwt
import websockets

from app.factory import create_app
from tests.conftest import make_settings, settings_env
from tests.graph.charging import charge, refund
from tests.processes import PAYMENTS, api_process
from tests.support import TEST_JWT_SECRET, free_port, new_subject, serve, token


async def test_liveness_and_readiness(http):
    """Live answers ok; ready checks PostgreSQL and Redis and says both are ok."""
    assert (await http.get("/health/live")).json() == {"status": "ok"}
    ready = await http.get("/health/ready")
    assert (ready.status_code, ready.json()) == (200, {"database": "ok", "redis": "ok"})


async def test_start_up_objects_are_frozen_out_of_the_collectors_way(database_url):
    """Once started, what start-up made sits in the permanent generation (short GC pauses)."""
    gc.unfreeze()
    app = create_app(make_settings(database_url), owns_database=False)
    async with serve(app):
        assert gc.get_freeze_count() > 0


async def test_readiness_is_503_naming_redis_when_redis_is_down(database_url):
    """With Redis unreachable, /health/ready answers 503 and names redis."""
    settings = make_settings(database_url, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = create_app(settings, owns_database=False)
    async with serve(app) as url, httpx.AsyncClient() as client:
        response = await client.get(f"{url}/health/ready")
    assert (response.status_code, response.json()) == (503, {"database": "ok", "redis": "down"})


@asynccontextmanager
async def _tcp_proxy(target_port: int) -> AsyncIterator[tuple[int, asyncio.Event]]:
    """A loopback proxy to `target_port`; setting the event cuts every connection."""
    cut = asyncio.Event()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not cut.is_set() and (chunk := await reader.read(65536)):
            writer.write(chunk)
            await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if cut.is_set():
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.wait(
            [
                asyncio.create_task(pipe(reader, up_writer)),
                asyncio.create_task(pipe(up_reader, writer)),
                asyncio.create_task(cut.wait()),
            ],
            return_when=asyncio.FIRST_COMPLETED,
        )
        writer.close()
        up_writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], cut
    cut.set()
    server.close()


async def test_readiness_is_503_naming_the_database_when_postgres_goes_away(settings):
    """A real `payments serve` whose PostgreSQL connection is cut reports database down (503)."""
    async with _tcp_proxy(5432) as (proxy_port, cut):
        env = settings_env(settings)
        env["DATABASE_URL"] = settings.database_url.replace(":5432/", f":{proxy_port}/")
        async with api_process(env) as api, httpx.AsyncClient(base_url=api.url) as client:
            before = await client.get("/health/ready")
            cut.set()
            after = await client.get("/health/ready", timeout=10)
    assert before.status_code == 200
    assert (after.status_code, after.json()["database"]) == (503, "down")


async def test_metrics_are_prometheus_text(http):
    """/metrics serves the Prometheus text format with the service's metric families."""
    response = await http.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE payments_idempotency_outcomes_total counter" in response.text


async def test_traffic_shows_in_the_metric_families(http):
    """After a charge and a refund, gateway, idempotency and refund metrics carry their labels."""
    sub = new_subject()
    payment = (await charge(http, sub))["payment"]
    await refund(http, sub, payment["id"], amount=100)
    text = (await http.get("/metrics")).text
    for sample in (
        'payments_gateway_call_duration_seconds_count{gateway="simulated",operation="charge",'
        'outcome="succeeded"}',
        'payments_gateway_call_duration_seconds_count{gateway="simulated",operation="refund",'
        'outcome="succeeded"}',
        'payments_idempotency_outcomes_total{operation="refund",outcome="new"}',
        'payments_graphql_operations_total{operation="refundPayment",outcome="ok"}',
    ):
        assert sample in text, sample


async def test_malformed_json_is_a_graphql_shaped_400(http):
    """A body that is not JSON gets 400 with a GraphQL-shaped error, not plain text."""
    response = await http.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_unknown_field_is_a_validation_error(http):
    """Querying a field that does not exist is GRAPHQL_VALIDATION_FAILED."""
    response = await http.post("/graphql", json={"query": "{ paymnts { nodes { id } } }"})
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_get_never_executes_operations(http):
    """GET /graphql serves only the GraphiQL page: a query in the URL is not run."""
    response = await http.get("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 400
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": response.json()["errors"][0]["message"],
                "extensions": {"code": "BAD_REQUEST"},
            }
        ],
    }


async def test_graphiql_has_the_token_prefilled(database_url):
    """In development GraphiQL opens with the Authorization header filled in."""
    app = create_app(
        make_settings(database_url), graphiql_token="tok.en.value", owns_database=False
    )
    async with serve(app) as url, httpx.AsyncClient() as client:
        page = await client.get(f"{url}/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "Bearer tok.en.value" in page.text


async def test_websocket_speaks_graphql_transport_ws(server):
    """WS /graphql speaks graphql-transport-ws and acknowledges a connection_init with a token."""
    url = server.replace("http://", "ws://") + "/graphql"
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token('cus_ws')}"}}
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps(init))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert reply["type"] == "connection_ack"


def test_token_command_signs_with_the_configured_secret():
    """`payments token` prints a JWT for the given subject and scopes, signed with JWT_SECRET."""
    result = subprocess.run(
        [PAYMENTS, "token", "--sub", "cus_1", "--scope", "payments:read", "--ttl", "60"],
        env={"JWT_SECRET": TEST_JWT_SECRET, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    claims = jwt.decode(result.stdout.strip(), TEST_JWT_SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["scope"]) == ("cus_1", "payments:read")
    assert claims["exp"] - claims["iat"] == 60


def test_migrate_command_builds_an_sqlite_database(tmp_path):
    """`payments migrate` applies every migration to an SQLite file."""
    database = tmp_path / "payments.sqlite3"
    subprocess.run(
        [PAYMENTS, "migrate"],
        env={
            "DATABASE_URL": f"sqlite://{database}",
            "JWT_SECRET": "x",
            "STRIPE_WEBHOOK_SECRET": "whsec_x",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        timeout=120,
        check=True,
    )
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {
        "payments",
        "refunds",
        "payment_status_history",
        "idempotency_keys",
        "outbox_events",
        "outbox_deliveries",
        "webhook_events",
    } <= tables
