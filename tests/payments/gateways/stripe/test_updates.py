"""Stripe's room reads stored events into provider-neutral updates, and nothing else does."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import stripe

from models.enums import (
    CancellationReason,
    DisputeStatus,
    PaymentStatus,
    RefundReason,
    RefundStatus,
)
from payments.gateways.base import DisputeReported, PaymentMoved, RefundsReported, ReportedRefund
from payments.gateways.events import read_event
from payments.gateways.stripe.disputes import StripeDisputes
from payments.shared.errors import ValidationFailed
from tests.fakes.stripe_examples import example

ROOT = Path(__file__).resolve().parents[4]


def _stored(event_type: str, obj: object, created: int = 1_700_000_000) -> str:
    return json.dumps(
        {"id": "evt_1", "type": event_type, "created": created, "data": {"object": obj}}
    )


def test_a_canceled_intent_reads_as_a_move_with_its_reason_and_time():
    """payment_intent.canceled names the intent, our payment and Stripe's reason as ours."""
    intent = {
        "id": "pi_1",
        "metadata": {"payment_id": "pay_1"},
        "cancellation_reason": "automatic",
        "canceled_at": 1_700_000_100,
    }
    update = read_event("stripe", _stored("payment_intent.canceled", intent))
    assert (update.event_id, update.provider_payment_id, update.payment_id) == (
        "evt_1",
        "pi_1",
        "pay_1",
    )
    assert isinstance(update.change, PaymentMoved)
    assert update.change.status is PaymentStatus.CANCELED
    assert update.change.fields["cancellation_reason"] is CancellationReason.EXPIRED
    assert update.change.fields["canceled_at"].timestamp() == 1_700_000_100


def test_a_partial_capture_reads_as_succeeded_for_the_captured_amount():
    """charge.captured points to its intent and reports what the charge captured."""
    charge = {"id": "ch_1", "payment_intent": {"id": "pi_1"}, "amount_captured": 700}
    update = read_event("stripe", _stored("charge.captured", charge))
    assert update.provider_payment_id == "pi_1"
    assert update.change == PaymentMoved(PaymentStatus.SUCCEEDED, {"amount_captured": 700})


def test_charge_refunded_reports_each_listed_refund_and_the_total():
    """charge.refunded hands over every listed refund in our words, and Stripe's total."""
    refund = {
        "id": "re_1",
        "amount": 300,
        "status": "succeeded",
        "reason": "duplicate",
        "metadata": {"refund_id": "ref_1"},
    }
    charge = {"id": "ch_1", "payment_intent": "pi_1", "amount_refunded": 300}
    charge["refunds"] = {"data": [refund]}
    update = read_event("stripe", _stored("charge.refunded", charge))
    expected = ReportedRefund(
        "re_1", "ref_1", 300, RefundStatus.SUCCEEDED, None, RefundReason.DUPLICATE
    )
    assert update.change == RefundsReported((expected,), 300)


def test_a_refund_without_id_or_amount_is_read_not_refused():
    """A malformed refund still reads (the domain refuses it once its payment is found)."""
    update = read_event("stripe", _stored("refund.failed", {"payment_intent": "pi_1"}))
    assert isinstance(update.change, RefundsReported)
    assert update.change.refunds[0].provider_refund_id is None
    assert update.change.refunds[0].amount is None


def test_dispute_events_read_as_the_whole_dispute_and_other_types_change_nothing():
    """Each of the five dispute events carries the Dispute; funds events and movements say so."""
    dispute = example("dispute", id="dp_1", payment_intent="pi_1", amount=1500, currency="eur")
    dispute.update(status="needs_response", reason="fraudulent")
    for event_type in ("created", "updated", "closed", "funds_withdrawn", "funds_reinstated"):
        update = read_event("stripe", _stored(f"charge.dispute.{event_type}", dispute))
        assert update.provider_payment_id == "pi_1"
        assert update.change == DisputeReported(
            provider_dispute_id="dp_1",
            amount=1500,
            currency="EUR",
            reason="fraudulent",
            status=DisputeStatus.NEEDS_RESPONSE,
            evidence_due_by=datetime.fromtimestamp(1723679999, UTC),
            reported_at=datetime.fromtimestamp(1_700_000_000, UTC),
            funds_withdrawn=event_type == "funds_withdrawn",
            funds_reinstated=event_type == "funds_reinstated",
        )
    # The object's balance transactions tell the same without the event's type.
    dispute.update(status="won", balance_transactions=[{"amount": -1500}, {"amount": 1500}])
    won = read_event("stripe", _stored("charge.dispute.closed", dispute)).change
    assert isinstance(won, DisputeReported) and won.closed
    assert (won.status, won.funds_withdrawn, won.funds_reinstated) == (
        DisputeStatus.WON,
        True,
        True,
    )
    assert read_event("stripe", _stored("customer.created", {"id": "cus_1"})).change is None


def test_a_dispute_without_what_we_keep_changes_nothing():
    """A dispute lacking id, amount or a status we know is ignored, never half-read."""
    for broken in ({"payment_intent": "pi_1"}, example("dispute", status="prevented")):
        assert read_event("stripe", _stored("charge.dispute.created", broken)).change is None


def test_no_module_outside_a_provider_room_names_stripe_event_types():
    """The domain, the webhook routes and the actors never spell a Stripe event type."""
    rooms = {
        ROOT / "payments" / "gateways" / "stripe",
        ROOT / "payments" / "gateways" / "simulated",
    }
    outside = [
        path
        for folder in ("payments", "webhooks", "tasks", "graph")
        for path in (ROOT / folder).rglob("*.py")
        if not any(room in path.parents for room in rooms)
    ]
    spelled = [
        path.relative_to(ROOT)
        for path in outside
        if any(name in path.read_text() for name in ('"payment_intent.', '"charge.', '"refund.'))
    ]
    assert spelled == []


def test_evidence_past_stripes_text_limit_is_refused_before_anything_is_sent():
    """Stripe takes 150,000 characters of text evidence in all; more is VALIDATION_ERROR."""
    disputes = StripeDisputes(stripe.StripeClient("sk_test_unused"))
    half = {"uncategorized_text": "x" * 75_000, "product_description": "y" * 75_000}
    assert disputes.evidence_fields(half) == half
    with pytest.raises(ValidationFailed) as refused:
        disputes.evidence_fields({**half, "customer_name": "z"})
    assert refused.value.field == "evidence"
