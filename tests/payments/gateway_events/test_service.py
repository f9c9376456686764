"""Stored Stripe events move payments and refunds through the same service transitions."""

from datetime import UTC, datetime, timedelta

import pytest

from models.enums import CancellationReason, EventSource, InboxStatus, PaymentStatus, RefundStatus
from models.inbox import WebhookEvent
from models.outbox import OutboxEvent
from models.payment import Payment, PaymentStatusHistory, Refund
from payments.gateway_events.inbox import failed_event_ids, prune_events, store_event
from payments.gateway_events.service import PaymentNotYetKnown, process_stored_event, replay_events
from payments.refunds.rules import RefundInput
from payments.refunds.service import refund
from payments.service_config import ServiceConfig
from payments.shared import metrics
from payments.shared.errors import NotFound, PaymentNotRefundable
from tests.webhooks.factories import (
    ADMIN,
    body_of,
    charge_object,
    charged,
    deliver,
    dispute_object,
    envelope_of,
    event,
    intent,
    new_id,
    quiet_gateway,
    refund_object,
    refundable,
    refunded_via_api,
)


async def _succeeded(amount: int = 5000) -> Payment:
    payment = await charged(amount=amount)
    await deliver(event("payment_intent.succeeded", intent(payment.provider_payment_id)))
    return await Payment.get(id=payment.id)


async def _applied_sources(payment_id: str) -> list[tuple[PaymentStatus, EventSource]]:
    rows = await PaymentStatusHistory.filter(payment_id=payment_id, applied=True).order_by(
        "version"
    )
    return [(row.status, row.source) for row in rows[1:]]


async def test_succeeded_event_moves_a_processing_payment_once(database_url):
    """payment_intent.succeeded: PROCESSING -> SUCCEEDED (WEBHOOK), one outbox event."""
    payment = await charged()
    assert payment.status is PaymentStatus.PROCESSING
    status = await deliver(event("payment_intent.succeeded", intent(payment.provider_payment_id)))
    assert status is InboxStatus.PROCESSED
    after = await Payment.get(id=payment.id)
    assert (after.status, after.version) == (PaymentStatus.SUCCEEDED, payment.version + 1)
    assert (await _applied_sources(payment.id))[-1] == (
        PaymentStatus.SUCCEEDED,
        EventSource.WEBHOOK,
    )
    events = await OutboxEvent.filter(payment_id=payment.id).order_by("version")
    assert [e.type for e in events] == ["payment.processing", "payment.succeeded"]


async def test_failed_event_records_the_decline_code(database_url):
    """payment_failed takes failureCode from last_payment_error.decline_code, else .code."""
    declined, errored = await charged(), await charged()
    error = {"code": "card_declined", "decline_code": "insufficient_funds", "message": "No."}
    await deliver(
        event(
            "payment_intent.payment_failed",
            intent(declined.provider_payment_id, last_payment_error=error),
        )
    )
    await deliver(
        event(
            "payment_intent.payment_failed",
            intent(errored.provider_payment_id, last_payment_error={"code": "expired_card"}),
        )
    )
    first, second = await Payment.get(id=declined.id), await Payment.get(id=errored.id)
    assert (first.status, first.failure_code, first.failure_message) == (
        PaymentStatus.FAILED,
        "insufficient_funds",
        "No.",
    )
    assert (second.status, second.failure_code) == (PaymentStatus.FAILED, "expired_card")


async def test_late_processing_after_succeeded_is_recorded_and_ignored(database_url):
    """A stale event never moves a payment backwards: history notes it, no outbox event."""
    payment = await _succeeded()
    before = await OutboxEvent.filter(payment_id=payment.id).count()
    stale = event("payment_intent.processing", intent(payment.provider_payment_id))
    assert await deliver(stale) is InboxStatus.PROCESSED
    after = await Payment.get(id=payment.id)
    assert (after.status, after.version) == (PaymentStatus.SUCCEEDED, payment.version)
    ignored = await PaymentStatusHistory.get(provider_event_id=stale["id"])
    assert (ignored.applied, ignored.status) == (False, PaymentStatus.PROCESSING)
    assert await OutboxEvent.filter(payment_id=payment.id).count() == before


async def test_success_after_failure_is_absorbed_but_counted_as_a_conflict(database_url):
    """Stripe reports money taken on a payment we closed as FAILED: kept FAILED, and alerted."""
    payment = await charged("pm_card_chargeDeclined")
    assert payment.status is PaymentStatus.FAILED
    conflicts = metrics.GATEWAY_CONFLICTS.labels("FAILED", "SUCCEEDED")
    before = conflicts._value.get()
    late = event("payment_intent.succeeded", intent(payment.provider_payment_id))
    assert await deliver(late) is InboxStatus.PROCESSED
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.FAILED
    assert conflicts._value.get() == before + 1


async def test_requires_action_then_canceled(database_url):
    """requires_action (found by metadata) keeps the client secret; canceled keeps its reason."""
    payment = await charged(gateway=quiet_gateway(unavailable=True))
    assert payment.status is PaymentStatus.PENDING
    pi = new_id("pi")
    action = intent(pi, payment.id, client_secret="pi_s_1")
    await deliver(event("payment_intent.requires_action", action))
    assert (await Payment.get(id=payment.id)).client_secret == "pi_s_1"
    await deliver(event("payment_intent.canceled", intent(pi, cancellation_reason="abandoned")))
    after = await Payment.get(id=payment.id)
    assert (after.status, after.cancellation_reason) == (
        PaymentStatus.CANCELED,
        CancellationReason.ABANDONED,
    )


async def test_payment_found_by_metadata_adopts_the_intent_id(database_url):
    """An event naming an unknown PI but our payment id in metadata finds it and keeps the PI."""
    payment = await charged()
    await Payment.filter(id=payment.id).update(provider_payment_id=None)
    pi = new_id("pi")
    await deliver(event("payment_intent.succeeded", intent(pi, payment_id=payment.id)))
    after = await Payment.get(id=payment.id)
    assert (after.status, after.provider_payment_id) == (PaymentStatus.SUCCEEDED, pi)


async def test_unknown_payment_raises_and_counts_attempts(database_url):
    """No matching payment: PaymentNotYetKnown with the attempt count; the event stays open."""
    stray = event("payment_intent.succeeded", intent(new_id("pi")))
    row_id = await store_event("stripe", body_of(stray), envelope_of(stray))
    assert row_id is not None
    for attempt in (1, 2):
        with pytest.raises(PaymentNotYetKnown) as raised:
            await process_stored_event(row_id)
        assert raised.value.attempts == attempt
    row = await WebhookEvent.get(id=row_id)
    assert (row.status, row.attempts, row.processed_at) == (InboxStatus.RECEIVED, 2, None)
    assert "No payment matches" in (row.error or "")


async def test_unknown_type_is_ignored(database_url):
    """An event type we do not handle is marked IGNORED and changes nothing."""
    payment = await charged("pm_card_visa")
    status = await deliver(event("customer.created", intent(payment.provider_payment_id)))
    assert status is InboxStatus.IGNORED
    assert (await Payment.get(id=payment.id)).version == payment.version


async def test_dashboard_refund_counts_once_across_its_events(database_url):
    """A refund made outside our API becomes one WEBHOOK refund, counted once over 3 events."""
    payment = await _succeeded(amount=5000)
    pi, re = payment.provider_payment_id, new_id("re")
    await deliver(event("refund.created", refund_object(re, pi, 2000, status="pending")))
    pending = await Payment.get(id=payment.id)
    assert (pending.amount_refunded, pending.amount_refundable) == (0, 3000)
    await deliver(event("refund.updated", refund_object(re, pi, 2000)))
    await deliver(event("charge.refunded", charge_object(pi, 5000, [refund_object(re, pi, 2000)])))
    after = await Payment.get(id=payment.id)
    assert (after.status, after.amount_refunded, after.amount_refund_pending) == (
        PaymentStatus.PARTIALLY_REFUNDED,
        2000,
        0,
    )
    rows = await Refund.filter(payment_id=payment.id)
    assert [(r.provider_refund_id, r.status, r.source) for r in rows] == [
        (re, RefundStatus.SUCCEEDED, EventSource.WEBHOOK)
    ]
    assert await OutboxEvent.filter(payment_id=payment.id).count() == 3


async def test_api_refund_is_matched_by_its_metadata_not_duplicated(database_url):
    """Webhooks for a refund made through our API settle that row; no second refund appears."""
    gateway = quiet_gateway()
    payment = await refundable(gateway)
    done = await refunded_via_api(payment, 1000, gateway)
    gateway.unavailable = True
    waiting = await refunded_via_api(payment, 4000, gateway)
    assert (done.status, waiting.status) == (RefundStatus.SUCCEEDED, RefundStatus.PENDING)
    pi, re_waiting = payment.provider_payment_id, new_id("re")
    refunds = [
        refund_object(done.provider_refund_id, pi, 1000, refund_id=done.id),
        refund_object(re_waiting, pi, 4000, refund_id=waiting.id),
    ]
    await deliver(event("refund.updated", refunds[1]))
    await deliver(event("charge.refunded", charge_object(pi, 5000, refunds)))
    after = await Payment.get(id=payment.id)
    assert (after.status, after.amount_refunded, after.amount_refund_pending) == (
        PaymentStatus.REFUNDED,
        5000,
        0,
    )
    settled = await Refund.get(id=waiting.id)
    assert (settled.status, settled.provider_refund_id) == (RefundStatus.SUCCEEDED, re_waiting)
    assert await Refund.filter(payment_id=payment.id).count() == 2


async def test_failed_refund_frees_its_reservation(database_url):
    """refund.failed for a reserved refund releases the amount; nothing is refunded."""
    gateway = quiet_gateway()
    payment = await refundable(gateway)
    gateway.unavailable = True
    waiting = await refunded_via_api(payment, 5000, gateway)
    failed = refund_object(new_id("re"), payment.provider_payment_id, 5000, "failed", waiting.id)
    await deliver(event("refund.failed", {**failed, "failure_reason": "expired_or_canceled_card"}))
    after = await Payment.get(id=payment.id)
    assert (after.status, after.amount_refunded, after.amount_refundable) == (
        PaymentStatus.SUCCEEDED,
        0,
        5000,
    )
    row = await Refund.get(id=waiting.id)
    assert (row.status, row.failure_reason) == (RefundStatus.FAILED, "expired_or_canceled_card")


async def test_refund_overtaking_the_success_event_implies_it(database_url):
    """A refund for a PROCESSING payment applies SUCCEEDED first, then the refund."""
    payment = await charged(amount=3000)
    pi = payment.provider_payment_id
    await deliver(event("refund.created", refund_object(new_id("re"), pi, 3000)))
    await deliver(event("payment_intent.succeeded", intent(pi)))
    after = await Payment.get(id=payment.id)
    assert (after.status, after.amount_refunded) == (PaymentStatus.REFUNDED, 3000)
    assert await _applied_sources(payment.id) == [
        (PaymentStatus.PROCESSING, EventSource.API),
        (PaymentStatus.SUCCEEDED, EventSource.WEBHOOK),
        (PaymentStatus.REFUNDED, EventSource.WEBHOOK),
    ]


async def test_refund_of_a_failed_payment_is_a_conflict_for_an_operator(database_url):
    """A refund event for a FAILED payment changes nothing and leaves the event FAILED."""
    payment = await charged()
    pi = payment.provider_payment_id
    await deliver(event("payment_intent.payment_failed", intent(pi)))
    conflicting = event("refund.created", refund_object(new_id("re"), pi, 1000))
    assert await deliver(conflicting) is InboxStatus.FAILED
    assert await Refund.filter(payment_id=payment.id).count() == 0
    assert conflicting["id"] in await failed_event_ids()


async def test_dispute_blocks_further_refunds(database_url):
    """charge.dispute.created records the dispute; refundPayment then refuses."""
    payment = await refundable(quiet_gateway())
    dispute = event("charge.dispute.created", dispute_object(payment.provider_payment_id, 5000))
    await deliver(dispute)
    after = await Payment.get(id=payment.id)
    assert after.disputed_at is not None
    assert after.status is PaymentStatus.SUCCEEDED
    config = ServiceConfig(gateway=quiet_gateway())
    with pytest.raises(PaymentNotRefundable):
        await refund(ADMIN, RefundInput(payment.id, 100), new_id("key"), config)


async def test_replay_reapplies_a_parked_event_once_its_payment_exists(database_url):
    """replay_events re-opens a parked event and processes it now; unknown ids are NotFound."""
    payment = await charged()
    await Payment.filter(id=payment.id).update(provider_payment_id=None)
    pi = new_id("pi")
    early = event("payment_intent.succeeded", intent(pi))
    row_id = await store_event("stripe", body_of(early), envelope_of(early))
    with pytest.raises(PaymentNotYetKnown):
        await process_stored_event(row_id)
    assert await replay_events([early["id"]]) == {early["id"]: InboxStatus.PARKED}
    await Payment.filter(id=payment.id).update(provider_payment_id=pi)
    assert await replay_events([early["id"]]) == {early["id"]: InboxStatus.PROCESSED}
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.SUCCEEDED
    with pytest.raises(NotFound):
        await replay_events([new_id("evt")])


async def test_prune_deletes_only_old_settled_events(database_url):
    """Settled events past the retention go; recent ones and parked ones stay."""
    old, recent, parked = (event("customer.created", intent(new_id("pi"))) for _ in range(3))
    await deliver(old)
    await deliver(recent)
    await store_event("stripe", body_of(parked), envelope_of(parked))
    long_ago = datetime.now(UTC) - timedelta(days=40)
    await WebhookEvent.filter(event_id__in=[old["id"], parked["id"]]).update(received_at=long_ago)
    await WebhookEvent.filter(event_id=parked["id"]).update(status=InboxStatus.PARKED)
    assert await prune_events(timedelta(days=30)) >= 1
    remaining = await WebhookEvent.filter(
        event_id__in=[old["id"], recent["id"], parked["id"]]
    ).values_list("event_id", flat=True)
    assert sorted(remaining) == sorted([recent["id"], parked["id"]])


@pytest.mark.parametrize("metadata", ["absent", None], ids=["absent", "null"])
async def test_intent_event_without_metadata_is_found_by_its_id(database_url, metadata):
    """A PaymentIntent whose metadata is absent or null is still matched by its id."""
    payment = await charged()
    obj = intent(payment.provider_payment_id)
    if metadata == "absent":
        del obj["metadata"]
    else:
        obj["metadata"] = metadata
    assert await deliver(event("payment_intent.succeeded", obj)) is InboxStatus.PROCESSED
    assert (await Payment.get(id=payment.id)).status is PaymentStatus.SUCCEEDED


async def test_refund_event_with_an_expanded_payment_intent_finds_its_payment(database_url):
    """A dashboard refund (no metadata) whose payment_intent is the expanded object counts."""
    payment = await _succeeded(amount=5000)
    pi = payment.provider_payment_id
    dashboard = refund_object(new_id("re"), pi, 2000)
    dashboard.update(metadata=None, payment_intent=intent(pi, status="succeeded"))
    assert await deliver(event("refund.created", dashboard)) is InboxStatus.PROCESSED
    after = await Payment.get(id=payment.id)
    assert (after.status, after.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 2000)


async def test_dispute_with_an_expanded_payment_intent_finds_its_payment(database_url):
    """charge.dispute.created whose payment_intent is the expanded object records the dispute."""
    payment = await _succeeded()
    dispute = dispute_object(payment.provider_payment_id, 5000)
    dispute["payment_intent"] = intent(payment.provider_payment_id, status="succeeded")
    assert await deliver(event("charge.dispute.created", dispute)) is InboxStatus.PROCESSED
    assert (await Payment.get(id=payment.id)).disputed_at is not None


async def test_bank_debit_failure_records_its_code_without_a_decline_code(database_url):
    """payment_failed for a bank debit (no decline_code key) takes last_payment_error.code."""
    payment = await charged()
    error = {"type": "invalid_request_error", "code": "account_closed", "message": "Closed."}
    failed = intent(payment.provider_payment_id, last_payment_error=error)
    await deliver(event("payment_intent.payment_failed", failed))
    after = await Payment.get(id=payment.id)
    assert (after.status, after.failure_code) == (PaymentStatus.FAILED, "account_closed")
