"""Migration 0004's trigger wakes the relay when an outbox row commits."""

import asyncio

import asyncpg
from tortoise import connections
from tortoise.transactions import in_transaction

from models.enums import PaymentStatus
from models.payment import Payment
from payments.transitions import OUTBOX_CHANNEL, write_outbox_event


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
        payment = await Payment.create(
            customer_id="c",
            order_id="o",
            amount=1000,
            currency="USD",
            status=PaymentStatus.SUCCEEDED,
            payment_method_id="pm_card_visa",
            gateway="simulated",
        )
        async with in_transaction() as connection:
            await write_outbox_event(payment, connection)
        await asyncio.wait_for(woken.wait(), timeout=5)
    finally:
        await listener.close()
