"""The expiry sweep: authorizations past captureBefore are canceled with reason EXPIRED, once."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from models.enums import CancellationReason, PaymentStatus
from models.outbox import OutboxEvent
from models.payment import Payment
from payments.cancellations import expiry
from payments.cancellations.expiry import cancel_lapsed_authorizations
from payments.service_config import ServiceConfig
from tests.graph.lifecycle import authorized, call
from tests.support import new_subject


async def test_lapsed_authorizations_are_canceled_and_live_ones_kept(http, gateway):
    """Only the lapsed hold is canceled (EXPIRED, one event); a second sweep changes nothing."""
    sub = new_subject()
    lapsed, live = await authorized(http, sub), await authorized(http, sub)
    past = datetime.now(UTC) - timedelta(seconds=1)
    await Payment.filter(id=lapsed["id"]).update(capture_before=past)
    # The simulated gateway's own hold lapses at the same time as ours.
    pi = lapsed["providerPaymentId"]
    gateway.charges[pi] = replace(gateway.charges[pi], capture_before=past)
    config = ServiceConfig(gateway=gateway)
    assert await cancel_lapsed_authorizations(config) >= 1
    assert await cancel_lapsed_authorizations(config) == 0
    expired, kept = await Payment.get(id=lapsed["id"]), await Payment.get(id=live["id"])
    assert (expired.status, expired.cancellation_reason) == (
        PaymentStatus.CANCELED,
        CancellationReason.EXPIRED,
    )
    assert expired.amount_capturable == 0 and expired.canceled_at is not None
    assert kept.status is PaymentStatus.AUTHORIZED
    types = await OutboxEvent.filter(payment_id=lapsed["id"]).values_list("type", flat=True)
    assert sorted(types) == ["payment.authorized", "payment.canceled"]


async def test_a_lapsed_authorization_cannot_be_captured(http):
    """Capture after captureBefore is PAYMENT_NOT_CAPTURABLE, before the sweep runs."""
    sub = new_subject()
    payment = await authorized(http, sub)
    await Payment.filter(id=payment["id"]).update(
        capture_before=datetime.now(UTC) - timedelta(seconds=1)
    )
    result = await call(http, sub, "capturePayment", paymentId=payment["id"])
    assert [e["code"] for e in result["errors"]] == ["PAYMENT_NOT_CAPTURABLE"]


async def test_one_sweep_reaches_holds_behind_a_batch_it_cannot_cancel(http, gateway, monkeypatch):
    """Two batches of lapsed holds the gateway refuses to cancel go first; the last is canceled.

    Reading only the first batch, the sweep retried the same refused holds on every run
    and never reached the ones behind them.
    """
    monkeypatch.setattr(expiry, "BATCH_SIZE", 5)
    sub = new_subject()
    past = datetime.now(UTC) - timedelta(seconds=1)
    refused = [await authorized(http, sub) for _ in range(10)]
    for payment in refused:
        # Captured at the gateway meanwhile: Stripe refuses to cancel it.
        pi = payment["providerPaymentId"]
        gateway.charges[pi] = replace(gateway.charges[pi], status=PaymentStatus.SUCCEEDED)
    behind = await authorized(http, sub)
    ids = [payment["id"] for payment in [*refused, behind]]
    await Payment.filter(id__in=ids).update(capture_before=past)
    pi = behind["providerPaymentId"]
    gateway.charges[pi] = replace(gateway.charges[pi], capture_before=past)
    try:
        await cancel_lapsed_authorizations(ServiceConfig(gateway=gateway))
        assert (await Payment.get(id=behind["id"])).status is PaymentStatus.CANCELED
    finally:
        await Payment.filter(id__in=ids[:-1]).update(capture_before=None)
