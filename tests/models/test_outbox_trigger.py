"""Migration 0004's trigger wakes the relay when an outbox row commits."""

import asyncio

import asyncpg
from tortoise import connections
from tortoise.transactions import in_transaction

from payments.outbox.events import OUTBOX_CHANNEL, write_outbox_event
from tests.support import create_payment


async def test_the_wake_up_trigger_exists(database_url):
    rows = await connections.get("default").execute_query_dict(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'outbox_events'::regclass"
    )
    assert "outbox_events_wake_relay" in {row["tgname"] for row in rows}


async def test_a_committed_outbox_row_notifies_the_relay_channel(database_url):
    """No statement of ours sends NOTIFY any more: only the trigger can wake the listener."""
    woken = asyncio.Event()
    listener = await asyncpg.connect(database_url)
    await listener.add_listener(OUTBOX_CHANNEL, lambda *_: woken.set())
    try:
        payment = await create_payment()
        async with in_transaction() as connection:
            await write_outbox_event(payment, connection)
        await asyncio.wait_for(woken.wait(), timeout=5)
    finally:
        await listener.close()
