"""Logs, metrics and rate limits observed on real `payments serve` processes."""

import asyncio
import json
import re

import asyncpg
import httpx

from app.factory import create_app
from tests.conftest import make_settings, settings_env
from tests.graph.charging import CHARGE, charge_input
from tests.processes import api_process
from tests.support import error_codes, free_port, graphql, new_subject, serve, token

CARD_NUMBERS = ["4242424242424242", "4242 4242 4242 4242", "4000-0566-5566-5556"]
SECRET_KEY = "sk_test_" + "Z" * 24
WEBHOOK_SECRET = "whsec_c2VjcmV0LXRoYXQtbXVzdC1ub3QtbGVhaw"


async def test_no_card_number_or_secret_reaches_logs_or_database(settings, tmp_path):
    """Card numbers and secrets in every input appear in neither the JSON logs nor any table."""
    log = tmp_path / "serve.log"
    env = {**settings_env(settings), "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}
    sub = new_subject()
    bearer = token(sub)
    served = api_process(env, output=log.open("wb"))
    async with served as api, httpx.AsyncClient(base_url=api.url) as client:
        for card in CARD_NUMBERS:
            dirty = {
                "orderId": f"order {card}",
                "description": f"card {card} {SECRET_KEY}",
                "metadata": {"note": card, "secret": WEBHOOK_SECRET},
            }
            digits = re.sub(r"\D", "", card)
            await graphql(
                client,
                CHARGE,
                {"input": charge_input(paymentMethodId=f"pm_{digits}"), "key": f"pm {card}"},
                bearer=bearer,
                headers={"x-request-id": f"x_{digits}"},
            )
            await graphql(
                client, CHARGE, {"input": charge_input(**dirty), "key": f"k {card}"}, bearer=bearer
            )
            await client.post(
                "/graphql",
                json={"query": f'{{ payment(id: "{card}") {{ id }} }}'},
                headers={"Authorization": f"Bearer {bearer}", "x-request-id": "req-secret-test"},
            )
        secret_only = charge_input(description=f"key {SECRET_KEY}")
        rejected = await graphql(
            client, CHARGE, {"input": secret_only, "key": "k-secret"}, bearer=bearer
        )
        await client.post(
            "/webhooks/stripe",
            content=f'{{"secret": "{WEBHOOK_SECRET}"}}',
            headers={"stripe-signature": f"t=1,v1={SECRET_KEY}"},
        )
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert any(r.get("request_id") == "req-secret-test" for r in records)
    assert any(r.get("path") == "/graphql" and r.get("status") == 200 for r in records)
    charges = [r for r in records if r.get("operation") == "chargePayment"]
    assert charges and all(r["principal"] == sub for r in charges)
    assert rejected["data"]["chargePayment"]["errors"][0]["field"] == "description"
    leaked = _leaks("\n".join(lines), bearer)
    assert leaked == [], leaked
    assert await _leaks_in_database(settings.database_url, bearer) == []


def _leaks(text: str, bearer: str) -> list[str]:
    digits_only = re.sub(r"[ -]", "", text)
    found = [
        card for card in CARD_NUMBERS if card in text or re.sub(r"[ -]", "", card) in digits_only
    ]
    return found + [s for s in (SECRET_KEY, WEBHOOK_SECRET, bearer) if s in text]


async def _leaks_in_database(database_url: str, bearer: str) -> list[str]:
    connection = await asyncpg.connect(database_url)
    try:
        columns = await connection.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE "
            "table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb')"
        )
        leaks = []
        for column in columns:
            rows = await connection.fetch(
                f'SELECT "{column["column_name"]}"::text AS v FROM "{column["table_name"]}"'
            )
            leaks += _leaks("\n".join(str(r["v"]) for r in rows), bearer)
        return leaks
    finally:
        await connection.close()


async def test_metrics_are_summed_across_two_workers(settings):
    """With --workers 2, /metrics counts every request, whichever worker served it."""
    env = {k: v for k, v in settings_env(settings).items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    sub = new_subject()
    query = {"query": '{ payment(id: "pay_missing") { id } }'}
    async with api_process(env, "--workers", "2") as api:
        for _ in range(30):
            async with httpx.AsyncClient() as client:  # a new connection spreads the load
                await client.post(
                    f"{api.url}/graphql",
                    json=query,
                    headers={"Authorization": f"Bearer {token(sub)}"},
                )
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"{api.url}/metrics")).text
    served = re.search(
        r'payments_graphql_operations_total\{operation="payment",outcome="ok"\} (\S+)', text
    )
    assert served and float(served.group(1)) == 30
    assert "payments_graphql_operation_duration_seconds_bucket" in text


async def test_rate_limit_trips_and_recovers(database_url):
    """A 5/second budget refuses the 6th call with RATE_LIMITED and retryAfter, then recovers."""
    settings = make_settings(database_url, rate_limit_default="5/second")
    bearer = token(new_subject())
    app = create_app(settings, owns_database=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        await asyncio.sleep(1 - (asyncio.get_running_loop().time() % 1))
        bodies = [
            await graphql(client, "{ payments { nodes { id } } }", bearer=bearer) for _ in range(6)
        ]
        await asyncio.sleep(1.1)
        later = await graphql(client, "{ payments { nodes { id } } }", bearer=bearer)
    assert [error_codes(b) for b in bodies[:5]] == [[]] * 5
    assert error_codes(bodies[5]) == ["RATE_LIMITED"]
    assert bodies[5]["errors"][0]["extensions"]["retryAfter"] >= 1
    assert error_codes(later) == []


async def test_charge_budget_is_tighter_and_aliases_cannot_stretch_it(database_url):
    """RATE_LIMIT_CHARGE applies to chargePayment alone; aliased reads each spend the budget."""
    settings = make_settings(
        database_url,
        rate_limit_charge="2/minute",
        rate_limit_default="4/minute",
    )
    sub = new_subject()
    app = create_app(settings, owns_database=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        charges = [
            await graphql(
                client, CHARGE, {"input": charge_input(), "key": str(i)}, bearer=token(sub)
            )
            for i in range(3)
        ]
        aliased = await graphql(
            client,
            "{ a: payments { nodes { id } } b: payments { nodes { id } } }",
            bearer=token(sub),
        )
    assert [error_codes(c) for c in charges] == [[], [], ["RATE_LIMITED"]]
    assert "RATE_LIMITED" in error_codes(aliased)


async def test_rate_limits_fail_open_when_redis_is_down(database_url):
    """With Redis unreachable the API still answers (the limiter logs and lets requests pass)."""
    settings = make_settings(
        database_url, rate_limit_default="1/minute", redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    bearer = token(new_subject())
    app = create_app(settings, owns_database=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        bodies = [
            await graphql(client, "{ payments { nodes { id } } }", bearer=bearer) for _ in range(3)
        ]
    assert [error_codes(b) for b in bodies] == [[]] * 3
