"""A dispute of a payment we do not know is kept, never an error; the reconciler reports it."""

import asyncio
import random

from models.dispute import Dispute
from models.enums import DisputeStatus, InboxStatus
from models.outbox import OutboxEvent
from models.payment import Payment
from payments.reconciliation.service import ReconcilePolicy, reconcile
from payments.service_config import ServiceConfig
from payments.shared import metrics
from tests.payments.disputes.test_convergence import _deliver, _lifecycle
from tests.webhooks.factories import charged, deliver, dispute_object, event, new_id, quiet_gateway


async def test_an_unknown_payments_dispute_is_kept_then_adopted_when_the_payment_appears(
    database_url,
):
    """Stored and PROCESSED at once; reported while unmatched; attached once its payment exists."""
    provider_payment_id = new_id("pi")
    opened = event("charge.dispute.created", dispute_object(provider_payment_id, 3000))
    opened["data"]["object"]["status"] = "needs_response"
    assert await deliver(opened) is InboxStatus.PROCESSED
    assert await deliver({**opened, "id": new_id("evt")}) is InboxStatus.PROCESSED
    (kept,) = await Dispute.filter(provider_payment_id=provider_payment_id)
    assert (kept.payment_id, kept.status, kept.amount) == (None, DisputeStatus.NEEDS_RESPONSE, 3000)

    gateway = quiet_gateway()
    await reconcile(ServiceConfig(gateway=gateway), ReconcilePolicy())
    assert (await Dispute.get(id=kept.id)).payment_id is None
    assert metrics.DISPUTES_UNMATCHED._value.get() >= 1  # reported, not dropped

    payment = await charged("pm_card_visa", 3000, quiet_gateway(pinned_id=provider_payment_id))
    await reconcile(ServiceConfig(gateway=gateway), ReconcilePolicy())
    adopted = await Dispute.get(id=kept.id)
    after = await Payment.get(id=payment.id)
    assert adopted.payment_id == payment.id
    assert (after.disputed, after.amount_disputed, after.version) == (
        True,
        3000,
        payment.version + 1,
    )
    announced = await OutboxEvent.get(payment_id=payment.id, version=after.version)
    assert announced.type == "dispute.created"
    assert announced.payload["data"]["dispute"]["id"] == kept.id


async def test_an_unknown_payments_dispute_events_at_once_keep_one_converged_row(database_url):
    """Its five events thrice, concurrently: every one PROCESSED, one row, in its final state."""
    provider_payment_id = new_id("pi")
    copies = [e for e in _lifecycle(provider_payment_id, won=True) for _ in range(3)]
    random.Random(7).shuffle(copies)
    outcomes = await asyncio.gather(*(_deliver(e) for e in copies))
    assert set(outcomes) == {InboxStatus.PROCESSED}
    (kept,) = await Dispute.filter(provider_payment_id=provider_payment_id)
    assert (kept.payment_id, kept.status) == (None, DisputeStatus.WON)
    assert (kept.funds_withdrawn, kept.funds_reinstated, kept.closed_at is not None) == (
        True,
        True,
        True,
    )
