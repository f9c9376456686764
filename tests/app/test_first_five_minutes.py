"""A newcomer's first five minutes: the README walked in `payments dev`, and the commands beside."""

import asyncio
import base64
import json
import os
import re
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, OperationType, parse

from app.cli import main
from app.dev_settings import DEV_CHARGE_BUDGET, dev_settings
from payments.shared.auth import ALL_SCOPES, CUSTOMER_SCOPES
from tests.app.test_dev_command import _gql, running_dev
from tests.graph.charging import CHARGE, charge_input
from tests.graph.live.client import live_client
from tests.processes import PAYMENTS

README = Path(__file__).parents[2] / "README.md"
PLACEHOLDER = re.compile(r"<payment id of (order-\d+)>")
ORDER_ID = re.compile(r'orderId: "(order-\d+)"')
STATUS = "query($id: ID!) { payment(id: $id) { status failureCode } }"
APPROVED_EVENTS = """{ webhookEvents(first: 1, filter: {type: "CHECKOUT.ORDER.APPROVED"}) {
  edges { node { provider } } } }"""
TRANSFER = "query($id: ID!) { payment(id: $id) { amountReceived } }"


def _readme_blocks() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", README.read_text(), re.DOTALL)


def _page_path() -> str:
    """Where the README sends the newcomer to authenticate, as a path to fill in."""
    match = re.search(
        r"http://127\.0\.0\.1:8000(/simulated/[\w/-]+\?client_secret=)<clientSecret>",
        README.read_text(),
    )
    assert match, "the README names the 3-D Secure page"
    return match.group(1)


@pytest.fixture(scope="module")
async def dev(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, str, Path]]:
    """`payments dev` in a fresh directory: its URL, its printed token and the directory."""
    workdir = tmp_path_factory.mktemp("first-five-minutes")
    async with running_dev(workdir) as (url, token):
        yield url, token, workdir


def _payload_errors(value: Any) -> list[Any]:
    """Every entry of every `errors` list in a response's data, however deep."""
    if isinstance(value, dict):
        found = list(value.get("errors") or [])
        return found + [e for child in value.values() for e in _payload_errors(child)]
    if isinstance(value, list):
        return [e for child in value for e in _payload_errors(child)]
    return []


def _only_payment(data: dict[str, Any]) -> dict[str, Any]:
    (payload,) = data.values()
    payment: dict[str, Any] = payload["payment"]
    return payment


async def _until_moved(url: str, token: str, payment_id: str, away_from: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        payment = (await _gql(url, token, STATUS, {"id": payment_id}))["payment"]
        if payment["status"] != away_from or time.monotonic() > deadline:
            return dict(payment)
        await asyncio.sleep(0.2)


async def _authenticate(url: str, client_secret: str) -> None:
    """What the newcomer does in the browser: open the page, click Complete."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as browser:
        page = await browser.get(_page_path() + client_secret)
        assert 'value="complete">Complete<' in page.text, page.text
        answered = await browser.post(
            _page_path() + client_secret,
            content="decision=complete",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert answered.status_code == 200, answered.text


async def _approve_at_paypal(url: str, token: str, approval_url: str) -> None:
    """What the buyer does at (simulated) PayPal: open the link, click Approve; back home.

    PayPal's signed CHECKOUT.ORDER.APPROVED then reaches the service, verified and stored.
    """
    assert approval_url.startswith(f"{url}/simulated/paypal/"), approval_url
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(approval_url)
        assert 'value="approve"' in page.text, page.text
        answered = await browser.post(approval_url, data={"decision": "approve"})
    assert (answered.status_code, answered.headers["location"]) == (
        303,
        "https://shop.example/paypal/return",
    )
    for _ in range(150):  # the webhook is sent at once: 30 s is far more than it takes
        if await _approvals_stored(url, token):
            break
        await asyncio.sleep(0.2)
    assert await _approvals_stored(url, token) == ["paypal"], "no verified PayPal webhook stored"


async def _approvals_stored(url: str, token: str) -> list[str]:
    edges = (await _gql(url, token, APPROVED_EVENTS, {}))["webhookEvents"]["edges"]
    return [edge["node"]["provider"] for edge in edges]


async def test_every_readme_block_is_one_operation_and_runs_in_order_in_payments_dev(dev):
    """Each GraphQL block is one named operation and runs as pasted, with ids of earlier answers."""
    url, token, _ = dev
    ids: dict[str, str] = {}
    blocks = _readme_blocks()
    async with live_client(url, token) as live:
        for block in blocks:
            (operation,) = parse(block).definitions
            assert isinstance(operation, OperationDefinitionNode) and operation.name, block
            missing = set(PLACEHOLDER.findall(block)) - set(ids)
            assert not missing, f"{block} needs an id no earlier block answered: {missing}"
            document = PLACEHOLDER.sub(lambda match: ids[match.group(1)], block)
            if operation.operation is OperationType.SUBSCRIPTION:
                await live.subscribe(document)
                continue
            data = await _gql(url, token, document, {})
            assert _payload_errors(data) == [], (block, data)
            for order_id in ORDER_ID.findall(block):
                payment = _only_payment(data)
                ids[order_id] = payment["id"]
                action = payment.get("nextAction") or {}
                if action.get("type") == "REDIRECT_TO_URL":
                    await _approve_at_paypal(url, token, action["redirectUrl"])
                elif payment.get("status") == "REQUIRES_ACTION" and "nextAction" not in payment:
                    await _authenticate(url, payment["clientSecret"])
                    moved = await _until_moved(url, token, payment["id"], "REQUIRES_ACTION")
                    assert moved["status"] == "SUCCEEDED", moved
        pushed = await live.pushes(until=5)
    assert len(blocks) >= 24 and len(ids) == 9
    assert any(push["id"] == ids["order-6"] and push["status"] == "SUCCEEDED" for push in pushed)
    # The bank transfer funded in two parts: paid in full once the test bank's events arrived.
    transfer = await _until_moved(url, token, ids["order-9"], "REQUIRES_ACTION")
    assert transfer["status"] == "SUCCEEDED", transfer
    received = await _gql(url, token, TRANSFER, {"id": ids["order-9"]})
    assert received["payment"]["amountReceived"] == 10_000


async def test_payments_dev_takes_more_charges_a_minute_than_production(dev):
    """Thirty charges in a row from one principal are all charged, none RATE_LIMITED."""
    url, token, _ = dev
    outcomes = [
        await _gql(url, token, CHARGE, {"input": charge_input(), "key": f"budget-{n}"})
        for n in range(30)
    ]
    statuses = [outcome["chargePayment"]["payment"]["status"] for outcome in outcomes]
    assert statuses == ["SUCCEEDED"] * 30


def test_the_dev_budget_gives_way_to_rate_limit_charge(monkeypatch):
    """RATE_LIMIT_CHARGE in the environment still sets `payments dev`'s budget."""
    monkeypatch.delenv("RATE_LIMIT_CHARGE", raising=False)
    default = dev_settings().rate_limit_charge
    monkeypatch.setenv("RATE_LIMIT_CHARGE", "5/minute")
    assert (default, dev_settings().rate_limit_charge) == (DEV_CHARGE_BUDGET, "5/minute")


def _run_beside(workdir: Path, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(workdir), **env_vars}
    return subprocess.run(
        [PAYMENTS, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=60
    )


async def test_webhooks_and_deliveries_beside_payments_dev_need_no_environment(dev):
    """With nothing set, `webhooks replay` and `deliveries list` work on the dev database."""
    url, token, workdir = dev
    variables = {"input": charge_input(paymentMethodId="pm_sim_processing"), "key": "beside-1"}
    payment = (await _gql(url, token, CHARGE, variables))["chargePayment"]["payment"]
    await _until_moved(url, token, payment["id"], "PROCESSING")
    events = await _gql(
        url, token, "{ webhookEvents(first: 1) { edges { node { stripeEventId } } } }", {}
    )
    event_id = events["webhookEvents"]["edges"][0]["node"]["stripeEventId"]
    replayed = await asyncio.to_thread(_run_beside, workdir, "webhooks", "replay", event_id)
    listed = await asyncio.to_thread(_run_beside, workdir, "deliveries", "list")
    assert (replayed.returncode, replayed.stderr) == (0, "")
    assert replayed.stdout.split()[-2:] == [event_id, "PROCESSED"]
    assert (listed.returncode, listed.stderr) == (0, "")


def test_pointed_elsewhere_a_command_names_everything_it_needs_at_once(tmp_path):
    """With only a PostgreSQL DATABASE_URL, one line names every variable still missing."""
    database_url = "postgres://postgres@127.0.0.1:5432/payments_elsewhere"
    ran = _run_beside(tmp_path, "deliveries", "list", DATABASE_URL=database_url)
    (line,) = ran.stderr.splitlines()
    assert ran.returncode == 2 and line.startswith("payments: configuration error: ")
    assert all(name in line for name in ("JWT_SECRET", "STRIPE_WEBHOOK_SECRET", "DATABASE_URL"))


def _claims(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    main(["token", *args])
    payload = capsys.readouterr().out.strip().split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def test_a_token_holds_a_customers_scopes_unless_admin_is_asked_for(capsys):
    """`payments token --sub alice` is a customer's token; `--admin` or `--scope` widen it."""
    assert _claims(capsys, "--sub", "alice")["scope"] == CUSTOMER_SCOPES
    assert "payments:admin" not in CUSTOMER_SCOPES.split()
    assert _claims(capsys, "--sub", "bff", "--admin")["scope"] == ALL_SCOPES
    assert _claims(capsys, "--sub", "ops", "--scope", "payments:read")["scope"] == "payments:read"
