"""The reconciler finishes what a crash left half-done, asking the gateway and never charging."""

import uuid
from datetime import UTC, datetime, timedelta

from models.enums import EventSource, PaymentMethodType, PaymentStatus, RefundStatus
from models.outbox import OutboxEvent
from models.payment import Payment, PaymentStatusHistory, Refund
from payments.gateways.base import ChargeRequest, ChargeResult
from payments.reconciliation import service
from payments.reconciliation.service import ReconcilePolicy, reconcile
from payments.service_config import ServiceConfig

NOW = ReconcilePolicy(stale_after=timedelta(0), abandon_after=timedelta(0))


async def _pending_payment(**fields) -> Payment:
    values = {
        "customer_id": f"c-{uuid.uuid4().hex[:6]}",
        "order_id": "o",
        "amount": 2000,
        "currency": "USD",
        "status": PaymentStatus.PENDING,
        "payment_method_id": "pm_card_visa",
        "gateway": "simulated",
        **fields,
    }
    return await Payment.create(**values)


async def _charged_at_gateway(gateway, payment: Payment) -> None:
    """What a process did before it died: the gateway charged, our database never heard."""
    await gateway.charge(
        ChargeRequest(
            payment.id,
            payment.amount,
            payment.currency,
            payment.payment_method_id,
            payment.customer_id,
            None,
            f"charge-{payment.id}",
        )
    )


async def test_payment_charged_before_a_crash_is_settled_from_the_gateway(database_url, gateway):
    """A PENDING payment the gateway did charge becomes SUCCEEDED (RECONCILER), one event."""
    payment = await _pending_payment()
    await _charged_at_gateway(gateway, payment)
    charges = gateway.charge_count
    await reconcile(ServiceConfig(gateway=gateway), NOW)
    settled = await Payment.get(id=payment.id)
    assert settled.status is PaymentStatus.SUCCEEDED
    assert settled.provider_payment_id == gateway.by_payment_id[payment.id]
    history = await PaymentStatusHistory.filter(payment_id=payment.id, applied=True).order_by(
        "version"
    )
    assert [h.source for h in history] == [EventSource.RECONCILER]
    assert await OutboxEvent.filter(payment_id=payment.id).count() == 1
    assert gateway.charge_count == charges


async def test_payment_the_gateway_never_saw_is_abandoned_not_charged(database_url, gateway):
    """A PENDING payment unknown to the gateway is CANCELED after the grace period."""
    payment = await _pending_payment()
    charges = gateway.charge_count
    await reconcile(ServiceConfig(gateway=gateway), NOW)
    settled = await Payment.get(id=payment.id)
    assert (settled.status, settled.failure_code) == (PaymentStatus.CANCELED, "abandoned")
    assert gateway.charge_count == charges


async def test_recent_pending_payments_are_left_alone(database_url, gateway):
    """A payment younger than the stale threshold may still be in flight: untouched."""
    payment = await _pending_payment()
    await reconcile(
        ServiceConfig(gateway=gateway), ReconcilePolicy(stale_after=timedelta(minutes=5))
    )
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.PENDING


async def test_abandoned_refund_frees_its_reservation(database_url, gateway):
    """A PENDING refund the gateway never saw is CANCELED and its amount is refundable again."""
    payment = await _pending_payment(
        status=PaymentStatus.SUCCEEDED, amount_captured=2000, amount_refund_pending=500
    )
    refund = await Refund.create(payment_id=payment.id, amount=500, status=RefundStatus.PENDING)
    await Refund.filter(id=refund.id).update(updated_at=datetime.now(UTC) - timedelta(hours=2))
    await reconcile(ServiceConfig(gateway=gateway), NOW)
    assert (await Refund.get(id=refund.id)).status is RefundStatus.CANCELED
    reloaded = await Payment.get(id=payment.id)
    assert (reloaded.amount_refund_pending, reloaded.amount_refundable) == (0, 2000)


async def test_a_payment_is_polled_only_at_its_own_rail(database_url, gateway):
    """A PayPal payment is never settled from the card gateway, even one that knows its id.

    Without a PayPal rail in this process it is left for a process that has one.
    """
    order_id = f"ORDER{uuid.uuid4().hex[:12].upper()}"
    payment = await _pending_payment(
        status=PaymentStatus.PROCESSING,
        provider_payment_id=order_id,
        payment_method_type=PaymentMethodType.PAYPAL,
        gateway="paypal",
    )
    gateway.charges[order_id] = ChargeResult(order_id, PaymentStatus.SUCCEEDED)
    try:
        assert await reconcile(ServiceConfig(gateway=gateway), NOW) >= 0
        assert (await Payment.get(id=payment.id)).status is PaymentStatus.PROCESSING
    finally:
        del gateway.charges[order_id]


async def test_a_bank_transfer_waiting_for_money_is_not_stuck(database_url, gateway, monkeypatch):
    """A week-old waiting transfer is never polled; a card awaiting its webhook still is."""
    asked: list[str] = []
    retrieve = gateway.retrieve_payment

    async def counted(provider_payment_id: str):
        asked.append(provider_payment_id)
        return await retrieve(provider_payment_id)

    monkeypatch.setattr(gateway, "retrieve_payment", counted)
    week_ago = datetime.now(UTC) - timedelta(days=7)
    waiting, card = [
        await _pending_payment(
            status=PaymentStatus.REQUIRES_ACTION,
            provider_payment_id=f"pi_{uuid.uuid4().hex}",
            payment_method_type=method_type,
        )
        for method_type in (PaymentMethodType.BANK_TRANSFER, PaymentMethodType.CARD)
    ]
    await Payment.filter(id__in=[waiting.id, card.id]).update(updated_at=week_ago)
    await reconcile(ServiceConfig(gateway=gateway), NOW)
    assert card.provider_payment_id in asked
    assert waiting.provider_payment_id not in asked
    assert (await Payment.get(id=waiting.id)).status is PaymentStatus.REQUIRES_ACTION


async def test_one_pass_reaches_payments_behind_a_batch_the_gateway_cannot_answer(
    database_url, gateway, monkeypatch
):
    """Two batches of stale payments the gateway does not know go first; the last is settled.

    Reading only the first batch, the reconciler polled the same unanswerable payments
    on every run and never reached the ones behind them.
    """
    monkeypatch.setattr(service, "BATCH_SIZE", 5)
    unanswerable = [
        await _pending_payment(
            status=PaymentStatus.PROCESSING, provider_payment_id=f"pi_gone_{uuid.uuid4().hex}"
        )
        for _ in range(10)
    ]
    behind = await _pending_payment(status=PaymentStatus.PROCESSING)
    await _charged_at_gateway(gateway, behind)
    await Payment.filter(id=behind.id).update(provider_payment_id=gateway.by_payment_id[behind.id])
    try:
        await reconcile(ServiceConfig(gateway=gateway), NOW)
        assert (await Payment.get(id=behind.id)).status is PaymentStatus.SUCCEEDED
    finally:
        await Payment.filter(id__in=[p.id for p in unanswerable]).update(
            status=PaymentStatus.CANCELED
        )
