"""Shared fixtures: a fresh PostgreSQL database, Redis, and the API served over real HTTP."""

import fcntl
import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.factory import create_app
from app.wiring import simulated_gateway
from payments.gateways.simulated.gateway import SimulatedGateway
from payments.platform.database import apply_migrations, close_database, open_database
from payments.shared.settings import Settings, load_settings
from tests.processes import WorkerProcess
from tests.support import TEST_JWT_SECRET, TEST_WEBHOOK_SECRET, serve
from tests.tansu import Tansu, tansu_broker

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Sessions (and developers' parallel runs) share one Redis; each gets its own queues.
QUEUE_NAMESPACE = f"payments-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """A throw-away PostgreSQL database, migrated, dropped at the end of the session."""
    name = f"payments_test_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    await apply_migrations(url)
    await open_database(url, pool_size=20)
    yield url
    await close_database()
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(params=["postgres", "sqlite"])
async def database(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> AsyncIterator[str]:
    """Each test on PostgreSQL and on SQLite (`payments dev`): one algorithm serves both."""
    if request.param == "postgres":
        yield database_url
        return
    url = f"sqlite://{tmp_path / 'payments.sqlite3'}"
    await close_database()
    await apply_migrations(url)
    await open_database(url)
    try:
        yield url
    finally:
        await close_database()
        await open_database(database_url)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "redis_url": REDIS_URL,
        "jwt_secret": TEST_JWT_SECRET,
        "stripe_webhook_secret": TEST_WEBHOOK_SECRET,
        "gateway": "simulated",
        "queue_namespace": QUEUE_NAMESPACE,
        # Child processes (workers, serve) share PostgreSQL's 100 connections with the suite.
        "database_pool_size": 5,
        "simulated_webhook_delay_ms": 200,
        "rate_limit_default": "off",
        "rate_limit_charge": "off",
        "rate_limit_anonymous": "off",
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
def gateway(settings: Settings) -> SimulatedGateway:
    return simulated_gateway(settings)


@pytest.fixture(scope="session")
async def server(settings: Settings, gateway: SimulatedGateway) -> AsyncIterator[str]:
    """The API on a real TCP port in this event loop; yields its base URL."""
    app = create_app(settings, gateway=gateway, owns_database=False)
    async with serve(app) as base_url:
        gateway.webhook_url = f"{base_url}/webhooks/stripe"
        yield base_url


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process (`payments worker/serve`) see `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYMENTS_", "PROMETHEUS_"))}
    for name, value in settings.model_dump().items():
        if value is None or name in {"charge_amount_minimums", "charge_amount_maximums"}:
            continue
        raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        env[name.upper()] = str(raw.value if hasattr(raw, "value") else raw)
    return env


@pytest.fixture(scope="session")
def worker(settings: Settings) -> Iterator[WorkerProcess]:
    """A real `payments worker` process consuming this session's queues."""
    with WorkerProcess.start(settings_env(settings)) as process:
        yield process


REFERENCE_CLIENTS = Path(__file__).with_name("js")


@pytest.fixture(scope="session")
def reference_clients() -> Path:
    """tests/js with its npm packages (graphql-ws, graphql-http) installed, for node scripts."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed for the reference-client tests")
    # Parallel sessions share tests/js: one installs (npm ci empties node_modules first)
    # while the others wait, and none reinstalls what the same lock file already put there.
    lock = REFERENCE_CLIENTS / "package-lock.json"
    installed = REFERENCE_CLIENTS / "node_modules" / ".installed-from"
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
    with (REFERENCE_CLIENTS / ".install-lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not installed.exists() or installed.read_text() != wanted:
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
                cwd=REFERENCE_CLIENTS,
                check=True,
                timeout=300,
            )
            installed.write_text(wanted)
    return REFERENCE_CLIENTS


@pytest.fixture
async def tansu() -> AsyncIterator[Tansu]:
    """A Kafka-protocol broker of this test's own (Tansu, in memory), killed afterwards."""
    async with tansu_broker() as broker:
        yield broker
