"""Stripe's five dispute events, duplicated and in any order, converge as if sent in order."""

import asyncio
import copy
import random
from typing import Any

import pytest

from models.dispute import Dispute
from models.enums import DisputeStatus, InboxStatus
from models.inbox import WebhookEvent
from models.outbox import OutboxEvent
from models.payment import Payment, PaymentStatusHistory
from payments.gateway_events.inbox import store_event
from payments.gateway_events.service import process_stored_event
from tests.fakes.stripe_examples import example
from tests.webhooks.factories import body_of, charged, envelope_of, event, new_id

AMOUNT = 4200
Events = list[dict[str, Any]]


def _lifecycle(provider_payment_id: str, won: bool) -> Events:
    """One chargeback's events as Stripe sends them, oldest first.

    Opened and withdrawn in the same second, answered a minute later, decided (and, when
    won, reinstated) two minutes later.
    """
    dispute = example(
        "dispute",
        id=new_id("dp"),
        amount=AMOUNT,
        currency="usd",
        payment_intent=provider_payment_id,
        reason="fraudulent",
        status="needs_response",
        balance_transactions=[],
    )
    opened = 1_800_000_000
    moments: list[tuple[str, int, dict[str, Any]]] = [("created", opened, {})]
    withdrawn = {"balance_transactions": [{"id": new_id("txn"), "amount": -AMOUNT}]}
    moments.append(("funds_withdrawn", opened, withdrawn))
    moments.append(("updated", opened + 60, {**withdrawn, "status": "under_review"}))
    outcome = {**withdrawn, "status": "won" if won else "lost"}
    moments.append(("closed", opened + 120, outcome))
    if won:
        back = withdrawn["balance_transactions"] + [{"id": new_id("txn"), "amount": AMOUNT}]
        moments.append(
            ("funds_reinstated", opened + 120, {**outcome, "balance_transactions": back})
        )
    events = []
    for change, created, fields in moments:
        stripe_event = event(f"charge.dispute.{change}", {**copy.deepcopy(dispute), **fields})
        stripe_event["created"] = created
        events.append(stripe_event)
    return events


async def _deliver(stripe_event: dict[str, Any]) -> InboxStatus:
    # Stored once by id as the route does; each copy is then processed (a redelivered message).
    row_id = await store_event("stripe", body_of(stripe_event), envelope_of(stripe_event))
    if row_id is None:
        row_id = await _row_of(stripe_event["id"])
    status = await process_stored_event(row_id)
    assert status is InboxStatus.PROCESSED
    return status


async def _row_of(event_id: str) -> int:
    return (await WebhookEvent.get(event_id=event_id)).id


async def _final(payment_id: str) -> tuple[Any, ...]:
    payment = await Payment.get(id=payment_id)
    (dispute,) = await Dispute.filter(payment_id=payment_id)
    return (
        payment.status,
        payment.disputed,
        payment.amount_disputed,
        payment.disputed_at is not None,
        dispute.status,
        dispute.amount,
        dispute.currency,
        dispute.reason,
        dispute.evidence_due_by,
        dispute.funds_withdrawn,
        dispute.funds_reinstated,
        dispute.closed_at is not None,
    )


async def _dispute_event_types(payment_id: str) -> list[str]:
    events = await OutboxEvent.filter(payment_id=payment_id).order_by("version")
    versions = [e.version for e in events]
    payment = await Payment.get(id=payment_id)
    # Version 1 is the creation; each later version has one event and one history row.
    assert versions == list(range(2, payment.version + 1))
    assert await PaymentStatusHistory.filter(payment_id=payment_id, applied=True).count() == (
        payment.version
    )
    for outbox_event in events:
        if outbox_event.type.startswith("dispute."):
            data = outbox_event.payload["data"]
            assert data["payment"]["version"] == outbox_event.version
            assert data["dispute"]["providerDisputeId"].startswith("dp_")
    return [e.type for e in events if e.type.startswith("dispute.")]


@pytest.mark.parametrize("won", [True, False], ids=["won", "lost"])
@pytest.mark.parametrize("seed", range(4))
async def test_five_events_thrice_shuffled_and_concurrent_converge(database_url, won, seed):
    """Every order and duplicate of a dispute's events ends where in-order delivery ends."""
    in_order, shuffled = (
        await charged("pm_card_visa", AMOUNT),
        await charged("pm_card_visa", AMOUNT),
    )
    for stripe_event in _lifecycle(in_order.provider_payment_id, won):
        await _deliver(stripe_event)
    copies = [e for e in _lifecycle(shuffled.provider_payment_id, won) for _ in range(3)]
    random.Random(seed).shuffle(copies)
    await asyncio.gather(*(_deliver(e) for e in copies))

    expected = await _final(in_order.id)
    assert await _final(shuffled.id) == expected
    outcome = DisputeStatus.WON if won else DisputeStatus.LOST
    assert expected[1:3] == (False, AMOUNT) and expected[4] is outcome
    assert expected[9:] == (True, won, True)
    for payment_id in (in_order.id, shuffled.id):
        types = await _dispute_event_types(payment_id)
        # Closed once; created before it, unless the first report to arrive was the closing.
        assert types.count("dispute.closed") == 1 and types.count("dispute.created") <= 1
        assert types[0] in ("dispute.created", "dispute.closed")
        assert "dispute.created" not in types[types.index("dispute.closed") :]
    # In order, each event that says something new is one version: opened, withdrawn,
    # under review, closed (and reinstated).
    in_order_types = await _dispute_event_types(in_order.id)
    assert in_order_types[0] == "dispute.created"
    assert len(in_order_types) == (5 if won else 4)


async def test_a_stale_open_report_never_reopens_a_closed_dispute(database_url):
    """`updated` (under review) and `funds_withdrawn` after `closed` (lost) change nothing."""
    payment = await charged("pm_card_visa", AMOUNT)
    created, withdrawn, updated, closed = _lifecycle(payment.provider_payment_id, won=False)
    for stripe_event in (created, closed):
        await _deliver(stripe_event)
    version = (await Payment.get(id=payment.id)).version
    await _deliver(updated)
    await _deliver(withdrawn)
    after = await Payment.get(id=payment.id)
    (dispute,) = await Dispute.filter(payment_id=payment.id)
    # The closing report already carried the withdrawal (its balance transactions).
    assert (dispute.status, dispute.funds_withdrawn) == (DisputeStatus.LOST, True)
    assert (after.version, after.disputed) == (version, False)
    assert await _dispute_event_types(payment.id) == ["dispute.created", "dispute.closed"]
