"""The inbox is unique on (provider, event id) after migration 0030, which keeps stored events."""

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from models.inbox import WebhookEvent
from payments.gateway_events.inbox import store_event
from payments.gateways.base import EventEnvelope
from tests.conftest import POSTGRES_ADMIN_URL

_MIGRATE = (
    "import asyncio, sys\n"
    "from tortoise.migrations.api import migrate\n"
    "from payments.platform.database import tortoise_config\n"
    "asyncio.run(migrate(config=tortoise_config(sys.argv[1]), target=sys.argv[2] or None))\n"
)
_STORED = (
    "INSERT INTO webhook_events (provider, event_id, type, payload, status, attempts, received_at)"
    " VALUES ('stripe', $1, 'charge.refunded', '{}', 'PROCESSED', 1, now())"
)


def _migrate(url: str, target: str = "") -> None:
    subprocess.run([sys.executable, "-c", _MIGRATE, url, target], check=True, timeout=120)


@pytest.fixture
async def database_at_0022() -> AsyncIterator[str]:
    """A private database migrated up to 0022, dropped afterwards."""
    name = f"payments_inbox_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        _migrate(url, "models.0022_outbox_event_states")
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_migration_keeps_stored_events_and_keys_them_by_provider(database_at_0022):
    """Events stored before 0030 survive it, and afterwards another provider may reuse an id."""
    connection = await asyncpg.connect(database_at_0022)
    try:
        await connection.execute(_STORED, "evt_before_1")
        await connection.execute(_STORED, "evt_before_2")
        _migrate(database_at_0022)
        ids = await connection.fetch("SELECT event_id FROM webhook_events ORDER BY event_id")
        assert [row["event_id"] for row in ids] == ["evt_before_1", "evt_before_2"]
        await connection.execute(_STORED.replace("'stripe'", "'paypal'"), "evt_before_1")
        with pytest.raises(asyncpg.UniqueViolationError):
            await connection.execute(_STORED, "evt_before_1")
    finally:
        await connection.close()


async def test_one_event_id_is_stored_once_per_provider(database_url):
    """store_event ignores a pair delivered again, but not the same id from another provider."""
    event_id = f"evt_{uuid.uuid4().hex[:12]}"
    event = EventEnvelope(event_id, "charge.refunded", None)
    assert await store_event("stripe", b"{}", event) is not None
    assert await store_event("stripe", b"{}", event) is None
    assert await store_event("paypal", b"{}", event) is not None
    assert await WebhookEvent.filter(event_id=event_id).count() == 2
    await WebhookEvent.filter(event_id=event_id).delete()  # no orphans for other tests' sweeps
