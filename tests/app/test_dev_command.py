"""`payments dev` from an empty directory: SQLite, in-process worker, simulated gateway."""

import asyncio
import json
import os
import re
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Message

from tests.graph.charging import CHARGE, REFUND, charge_input
from tests.graph.live.reference import (
    assert_every_version_pushed,
    reference_subscriber,
    watched_runs,
)
from tests.processes import PAYMENTS
from tests.support import free_port
from tests.tansu import headers_of, read_topic

# Few: the module's charges share `payments dev`'s per-minute charge budget.
LIVE_RUNS = 3


@pytest.fixture(scope="module")
async def dev_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, str]]:
    """A `payments dev` process in a fresh directory; yields its URL and printed token."""
    async with running_dev(tmp_path_factory.mktemp("dev")) as (url, token):
        yield url, token


@asynccontextmanager
async def running_dev(workdir: Path, **settings: str) -> AsyncIterator[tuple[str, str]]:
    """`payments dev` in `workdir` with only `settings` set; yields its URL and printed token."""
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(workdir), **settings}
    process = await asyncio.create_subprocess_exec(
        PAYMENTS,
        "dev",
        "--port",
        str(port),
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    printed = ""
    while "Uvicorn running" not in printed and process.returncode is None:
        printed += (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    token = re.search(r"^(eyJ[\w.-]+)$", printed, re.MULTILINE)
    assert token, printed
    assert f"http://127.0.0.1:{port}/graphql" in printed
    assert (Path(workdir) / "payments-dev" / "payments.sqlite3").exists()
    # Read what it logs from now on, so a long walk never blocks it on a full pipe.
    draining = asyncio.create_task(process.stdout.read())
    try:
        yield f"http://127.0.0.1:{port}", token.group(1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
        await draining


async def _gql(url: str, token: str, query: str, variables: dict) -> dict:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body: dict = response.json()
    assert "errors" not in body, body
    return body["data"]


async def test_dev_charges_declines_refunds_and_pages(dev_server):
    """The GraphiQL walk-through of the issue works against the embedded defaults."""
    url, token = dev_server
    charge = {"input": charge_input(), "key": uuid.uuid4().hex}
    ok = await _gql(url, token, CHARGE, charge)
    # SQLite writes the payment and completes its key without data-modifying WITH.
    replayed = await _gql(url, token, CHARGE, charge)
    declined = await _gql(
        url,
        token,
        CHARGE,
        {"input": charge_input(paymentMethodId="pm_card_chargeDeclined"), "key": uuid.uuid4().hex},
    )
    payment_id = ok["chargePayment"]["payment"]["id"]
    for amount in (1000, 2000):
        refunded = await _gql(
            url,
            token,
            REFUND,
            {"input": {"paymentId": payment_id, "amount": amount}, "key": uuid.uuid4().hex},
        )
    page = await _gql(url, token, "{ payments(first: 1) { pageInfo { hasNextPage } } }", {})
    assert ok["chargePayment"]["payment"]["status"] == "SUCCEEDED"
    assert replayed["chargePayment"]["payment"]["id"] == payment_id
    assert declined["chargePayment"]["payment"]["failureCode"] == "card_declined"
    assert refunded["refundPayment"]["payment"]["amountRefunded"] == 3000
    assert refunded["refundPayment"]["payment"]["status"] == "PARTIALLY_REFUNDED"
    assert page["payments"]["pageInfo"]["hasNextPage"] is True


async def test_dev_publishes_each_version_to_kafka_when_configured(tmp_path, tansu):
    """With KAFKA_BOOTSTRAP_SERVERS, `payments dev` publishes a charge and its refund in order."""
    async with running_dev(tmp_path, KAFKA_BOOTSTRAP_SERVERS=tansu.bootstrap) as (url, token):
        charged = await _gql(url, token, CHARGE, {"input": charge_input(), "key": uuid.uuid4().hex})
        payment_id = charged["chargePayment"]["payment"]["id"]
        refund = {"input": {"paymentId": payment_id, "amount": 1000}, "key": uuid.uuid4().hex}
        refunded = await _gql(url, token, REFUND, refund)
        version = refunded["refundPayment"]["payment"]["version"]

        def reached(records: list[Message]) -> bool:
            return any(
                record.key() == payment_id.encode()
                and headers_of(record)["payment-version"] == str(version).encode()
                for record in records
            )

        records = await read_topic(tansu.bootstrap, "payments.events", reached, seconds=30)
    mine = [record for record in records if record.key() == payment_id.encode()]
    versions = [int(headers_of(record)["payment-version"]) for record in mine]
    assert versions == sorted(versions) and versions[-1] == version
    assert json.loads(mine[-1].value() or b"")["type"] == "payment.partially_refunded"


async def test_dev_pushes_every_version_of_back_to_back_changes(dev_server, reference_clients):
    """In one process on SQLite, a charge and two refunds back to back push versions 2, 3, 4."""
    url, token = dev_server
    async with (
        reference_subscriber(reference_clients, url, token) as subscriber,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        runs = await watched_runs(subscriber, http, token, LIVE_RUNS)
    assert_every_version_pushed(subscriber, runs)
