"""PayPal's webhook events, duplicated and out of order, converge with what PayPal holds."""

import uuid
from typing import Any

import pytest

from models.dispute import Dispute
from models.enums import DisputeStatus, InboxStatus, PaymentStatus, PendingOperation
from models.inbox import WebhookEvent
from models.payment import Payment
from payments.gateway_events.service import process_stored_event
from payments.intents.approval import ApprovalDeferred
from tests.fakes.paypal_ledger import COMPLETED, PENDING, to_minor
from tests.graph.charging import charge, refund
from tests.graph.lifecycle import call
from tests.graph.paypal.conftest import PayPalWorld
from tests.support import new_subject


async def _created(world: PayPalWorld, sub: str, **fields: Any) -> dict[str, Any]:
    values = {
        "orderId": f"order-{uuid.uuid4().hex[:8]}",
        "amount": 4200,
        "currency": "eur",
        "paymentMethodType": "PAYPAL",
        "returnUrl": "https://shop.example/back",
    }
    payload = await call(world.http, sub, "createPaymentIntent", **{**values, **fields})
    assert payload["errors"] == [], payload
    payment: dict[str, Any] = payload["payment"]
    return payment


async def _approved_by_event(world: PayPalWorld, order_id: str, outcome: str = COMPLETED) -> None:
    world.fake.ledger.approve(order_id, outcome)
    order = world.fake.ledger.render_order(order_id, None)
    assert await world.deliver("CHECKOUT.ORDER.APPROVED", order) is InboxStatus.PROCESSED


async def test_the_approval_event_alone_captures_and_later_events_change_nothing(
    paypal: PayPalWorld,
):
    """No confirmPayment at all: the worker captures; duplicate events leave one version."""
    sub = new_subject()
    created = await _created(paypal, sub)
    order_id = created["providerPaymentId"]
    await _approved_by_event(paypal, order_id)
    captured = await Payment.get(id=created["id"])
    assert (captured.status, captured.amount_captured) == (PaymentStatus.SUCCEEDED, 4200)
    (capture,) = paypal.fake.ledger.captures_of(order_id)
    resource = paypal.fake.ledger.render_capture(capture["id"])
    for _ in range(2):
        await paypal.deliver("PAYMENT.CAPTURE.COMPLETED", resource)
    # An approval delivered again after the capture asks PayPal nothing.
    await paypal.deliver("CHECKOUT.ORDER.APPROVED", paypal.fake.ledger.render_order(order_id, None))
    after = await Payment.get(id=created["id"])
    assert after.version == captured.version
    assert paypal.fake.ledger.money_moves[order_id] == 1

    payload = await refund(paypal.http, sub, created["id"], amount=700)
    assert payload["refund"]["status"] == "SUCCEEDED", payload
    (paypal_refund,) = paypal.fake.ledger.refunds_of(order_id)
    assert paypal_refund["custom_id"] == f"{created['id']}:{payload['refund']['id']}"
    for _ in range(2):
        await paypal.deliver(
            "PAYMENT.CAPTURE.REFUNDED", paypal.fake.ledger.render_refund(paypal_refund["id"])
        )
    final = await Payment.get(id=created["id"])
    assert (final.status, final.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 700)
    assert final.version == after.version + 1
    assert to_minor(paypal_refund["amount"]) == final.amount_refunded


async def test_a_pending_capture_completes_by_event_whatever_the_order(paypal: PayPalWorld):
    """PENDING -> PROCESSING; COMPLETED then a late PENDING event: SUCCEEDED stays."""
    sub = new_subject()
    created = await _created(paypal, sub)
    order_id = created["providerPaymentId"]
    paypal.fake.ledger.approve(order_id, PENDING)
    confirmed = await call(paypal.http, sub, "confirmPayment", paymentId=created["id"])
    assert confirmed["payment"]["status"] == "PROCESSING", confirmed
    (capture,) = paypal.fake.ledger.captures_of(order_id)
    pending = paypal.fake.ledger.render_capture(capture["id"])
    paypal.fake.ledger.settle_capture(capture["id"], "COMPLETED")
    completed = paypal.fake.ledger.render_capture(capture["id"])
    await paypal.deliver("PAYMENT.CAPTURE.COMPLETED", completed)
    await paypal.deliver("PAYMENT.CAPTURE.PENDING", pending)
    await paypal.deliver("PAYMENT.CAPTURE.COMPLETED", completed)
    row = await Payment.get(id=created["id"])
    assert (row.status, row.amount_captured) == (PaymentStatus.SUCCEEDED, 4200)


async def test_a_denied_pending_capture_fails_the_payment(paypal: PayPalWorld):
    sub = new_subject()
    created = await _created(paypal, sub)
    order_id = created["providerPaymentId"]
    await _approved_by_event(paypal, order_id, PENDING)
    assert (await Payment.get(id=created["id"])).status is PaymentStatus.PROCESSING
    (capture,) = paypal.fake.ledger.captures_of(order_id)
    paypal.fake.ledger.settle_capture(capture["id"], "DECLINED")
    await paypal.deliver("PAYMENT.CAPTURE.DENIED", paypal.fake.ledger.render_capture(capture["id"]))
    row = await Payment.get(id=created["id"])
    assert row.status is PaymentStatus.FAILED
    assert row.failure_code == "capture_declined"


async def test_authorization_events_follow_the_hold_and_its_void(paypal: PayPalWorld):
    """MANUAL: the approval authorizes; CREATED and VOIDED events agree with our calls."""
    sub = new_subject()
    created = await _created(paypal, sub, captureMethod="MANUAL")
    order_id = created["providerPaymentId"]
    await _approved_by_event(paypal, order_id)
    held = await Payment.get(id=created["id"])
    assert (held.status, held.amount_capturable) == (PaymentStatus.AUTHORIZED, 4200)
    (authorization,) = paypal.fake.ledger.authorizations.values()
    resource = paypal.fake.ledger.render_authorization(authorization["id"])
    await paypal.deliver("PAYMENT.AUTHORIZATION.CREATED", resource)
    assert (await Payment.get(id=created["id"])).version == held.version
    canceled = await call(paypal.http, sub, "cancelPayment", paymentId=created["id"])
    assert canceled["payment"]["status"] == "CANCELED", canceled
    voided = paypal.fake.ledger.render_authorization(authorization["id"])
    await paypal.deliver("PAYMENT.AUTHORIZATION.VOIDED", voided)
    # A late CREATED after the void: the hold stays released.
    await paypal.deliver("PAYMENT.AUTHORIZATION.CREATED", resource)
    row = await Payment.get(id=created["id"])
    assert (row.status, row.amount_capturable) == (PaymentStatus.CANCELED, 0)


def _paypal_dispute(
    payment_id: str, status: str, update_time: str, **fields: Any
) -> dict[str, Any]:
    """A dispute resource as PayPal's CUSTOMER.DISPUTE.* webhooks carry it."""
    return {
        "dispute_id": "PP-D-" + payment_id[-8:],
        "create_time": "2026-12-01T10:00:00.000Z",
        "update_time": update_time,
        "disputed_transactions": [
            {"seller_transaction_id": "3BC38643YC807283D", "custom": payment_id}
        ],
        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "status": status,
        "dispute_amount": {"currency_code": "EUR", "value": "42.00"},
        "dispute_life_cycle_stage": "CHARGEBACK",
        "seller_response_due_date": "2026-12-11T10:00:00.000Z",
        **fields,
    }


async def test_a_paypal_dispute_blocks_refunds_and_converges_in_any_order(paypal: PayPalWorld):
    """CUSTOMER.DISPUTE.* make a Dispute of the payment, duplicated and out of order.

    While it is open the payment is disputed and refundPayment is refused; resolved in the
    seller's favour it is WON, and a late, older CREATED changes nothing.
    """
    sub = new_subject()
    created = await _created(paypal, sub)
    await _approved_by_event(paypal, created["providerPaymentId"])
    opened = _paypal_dispute(
        created["id"],
        "WAITING_FOR_SELLER_RESPONSE",
        "2026-12-01T10:00:00.000Z",
        money_movements=[{"affected_party": "SELLER", "type": "DEBIT"}],
    )
    for _ in range(2):
        assert await paypal.deliver("CUSTOMER.DISPUTE.CREATED", opened) is InboxStatus.PROCESSED
    row = await Payment.get(id=created["id"])
    assert row.disputed_at is not None
    (dispute,) = await Dispute.filter(payment_id=created["id"])
    assert (dispute.status, dispute.amount, dispute.currency) == (
        DisputeStatus.NEEDS_RESPONSE,
        4200,
        "EUR",
    )
    refused = await refund(paypal.http, sub, created["id"], amount=100)
    assert [error["code"] for error in refused["errors"]] == ["PAYMENT_NOT_REFUNDABLE"]
    assert paypal.fake.ledger.refunds_of(created["providerPaymentId"]) == []

    resolved = _paypal_dispute(
        created["id"],
        "RESOLVED",
        "2026-12-05T10:00:00.000Z",
        dispute_outcome={"outcome_code": "RESOLVED_SELLER_FAVOUR"},
    )
    await paypal.deliver("CUSTOMER.DISPUTE.RESOLVED", resolved)
    await paypal.deliver(
        "CUSTOMER.DISPUTE.CREATED", {**opened, "dispute_id": dispute.provider_dispute_id}
    )
    (won,) = await Dispute.filter(payment_id=created["id"])
    assert won.status is DisputeStatus.WON
    assert won.closed_at is not None


async def test_a_refund_made_at_paypal_without_our_reference_is_stored_without_effect(
    paypal: PayPalWorld,
):
    """A refund PayPal reports that we did not ask for (no custom_id of ours) moves nothing."""
    sub = new_subject()
    created = await _created(paypal, sub)
    await _approved_by_event(paypal, created["providerPaymentId"])
    (capture,) = paypal.fake.ledger.captures_of(created["providerPaymentId"])
    foreign = paypal.fake.ledger.refund_capture(
        capture["id"], {"amount": {"currency_code": "EUR", "value": "1.00"}}
    )
    assert await paypal.deliver("PAYMENT.CAPTURE.REFUNDED", foreign) is InboxStatus.IGNORED
    assert (await Payment.get(id=created["id"])).amount_refunded == 0


async def test_an_approval_waits_while_a_cancellation_is_under_way(paypal: PayPalWorld):
    """A cancel holds the payment: the approval is retried later and then captures nothing."""
    sub = new_subject()
    created = await _created(paypal, sub)
    order_id = created["providerPaymentId"]
    paypal.fake.ledger.approve(order_id)
    await Payment.filter(id=created["id"]).update(pending_operation=PendingOperation.CANCEL)
    order = paypal.fake.ledger.render_order(order_id, None)
    with pytest.raises(ApprovalDeferred):
        await paypal.deliver("CHECKOUT.ORDER.APPROVED", order)
    assert paypal.fake.ledger.money_moves == {}
    # The cancellation finishes; the retried approval then finds nothing to capture.
    await Payment.filter(id=created["id"]).update(
        pending_operation=None, status=PaymentStatus.CANCELED
    )
    row = await WebhookEvent.get(
        provider="paypal", type="CHECKOUT.ORDER.APPROVED", payload__contains=order_id
    )
    assert await process_stored_event(row.id, lambda: paypal.worker) is InboxStatus.PROCESSED
    assert paypal.fake.ledger.money_moves == {}


async def test_an_approval_before_the_creation_committed_waits_for_it(paypal: PayPalWorld):
    """The order exists at PayPal while our payment is still PENDING: retried, then captured."""
    sub = new_subject()
    created = await _created(paypal, sub)
    order_id = created["providerPaymentId"]
    paypal.fake.ledger.approve(order_id)
    await Payment.filter(id=created["id"]).update(status=PaymentStatus.PENDING)
    with pytest.raises(ApprovalDeferred):
        await paypal.deliver(
            "CHECKOUT.ORDER.APPROVED", paypal.fake.ledger.render_order(order_id, None)
        )
    assert paypal.fake.ledger.money_moves == {}
    await Payment.filter(id=created["id"]).update(status=PaymentStatus.REQUIRES_ACTION)
    row = await WebhookEvent.get(provider="paypal", payload__contains=order_id)
    assert await process_stored_event(row.id, lambda: paypal.worker) is InboxStatus.PROCESSED
    assert (await Payment.get(id=created["id"])).status is PaymentStatus.SUCCEEDED
    assert paypal.fake.ledger.money_moves == {order_id: 1}


async def test_an_approval_naming_a_card_payment_confirms_nothing(paypal: PayPalWorld):
    """A signed CHECKOUT.ORDER.APPROVED whose custom_id names a card payment moves nothing.

    Only a PayPal payment is approved at PayPal; the card waiting for 3-D Secure is left.
    """
    sub = new_subject()
    card = (await charge(paypal.http, sub, paymentMethodId="pm_card_authenticationRequired"))[
        "payment"
    ]
    assert card["status"] == "REQUIRES_ACTION"
    before = await Payment.get(id=card["id"])
    order_id = (await _created(paypal, sub))["providerPaymentId"]
    paypal.fake.ledger.approve(order_id, COMPLETED)
    order = paypal.fake.ledger.render_order(order_id, None)
    for unit in order["purchase_units"]:
        unit["custom_id"] = card["id"]
    order["id"] = f"FORGED{uuid.uuid4().hex[:10].upper()}"
    await paypal.deliver("CHECKOUT.ORDER.APPROVED", order)
    after = await Payment.get(id=card["id"])
    assert (after.status, after.version) == (before.status, before.version)
    assert paypal.fake.ledger.money_moves.get(order_id, 0) == 0
