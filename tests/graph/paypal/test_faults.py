"""PayPal answering 500 after it did the work: same-key retries finish it, nothing twice."""

import uuid
from typing import Any

from models.payment import Payment
from tests.fakes.paypal_ledger import to_minor
from tests.graph.charging import refund
from tests.graph.lifecycle import call
from tests.graph.paypal.conftest import PayPalWorld
from tests.support import new_subject


def _intent(**fields: Any) -> dict[str, Any]:
    values = {
        "orderId": f"order-{uuid.uuid4().hex[:8]}",
        "amount": 9000,
        "currency": "gbp",
        "paymentMethodType": "PAYPAL",
        "returnUrl": "https://shop.example/back",
    }
    return {**values, **fields}


def _codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


async def test_an_order_made_before_a_500_is_the_one_the_retry_gets(paypal: PayPalWorld):
    sub, key, fields = new_subject(), uuid.uuid4().hex, _intent()
    paypal.fake.fail_after("/v2/checkout/orders")
    first = await call(paypal.http, sub, "createPaymentIntent", key, **fields)
    assert _codes(first) == ["GATEWAY_UNAVAILABLE"]
    retried = await call(paypal.http, sub, "createPaymentIntent", key, **fields)
    assert retried["payment"]["status"] == "REQUIRES_ACTION", retried
    assert list(paypal.fake.ledger.orders) == [retried["payment"]["providerPaymentId"]]


async def test_a_capture_and_a_refund_done_before_a_500_are_not_repeated(paypal: PayPalWorld):
    """MANUAL: capture then refund, each answered 500 once; retries with their keys settle."""
    sub = new_subject()
    created = (
        await call(paypal.http, sub, "createPaymentIntent", **_intent(captureMethod="MANUAL"))
    )["payment"]
    order_id = created["providerPaymentId"]
    paypal.fake.ledger.approve(order_id)
    authorized = await call(paypal.http, sub, "confirmPayment", paymentId=created["id"])
    assert authorized["payment"]["status"] == "AUTHORIZED", authorized

    paypal.fake.fail_after("/capture")
    capture_key = uuid.uuid4().hex
    failed = await call(
        paypal.http, sub, "capturePayment", capture_key, paymentId=created["id"], amount=6000
    )
    assert _codes(failed) == ["GATEWAY_UNAVAILABLE"]
    captured = await call(
        paypal.http, sub, "capturePayment", capture_key, paymentId=created["id"], amount=6000
    )
    assert captured["payment"]["status"] == "SUCCEEDED", captured
    assert [to_minor(c["amount"]) for c in paypal.fake.ledger.captures_of(order_id)] == [6000]

    paypal.fake.fail_after("/refund")
    refund_key = uuid.uuid4().hex
    lost = await refund(paypal.http, sub, created["id"], refund_key, amount=2500)
    assert _codes(lost) == ["GATEWAY_UNAVAILABLE"]
    done = await refund(paypal.http, sub, created["id"], refund_key, amount=2500)
    assert done["refund"]["status"] == "SUCCEEDED", done
    assert [to_minor(r["amount"]) for r in paypal.fake.ledger.refunds_of(order_id)] == [2500]
    row = await Payment.get(id=created["id"])
    assert (row.amount_captured, row.amount_refunded) == (6000, 2500)


async def test_more_than_the_authorization_holds_is_refused_before_paypal(paypal: PayPalWorld):
    sub = new_subject()
    created = (
        await call(paypal.http, sub, "createPaymentIntent", **_intent(captureMethod="MANUAL"))
    )["payment"]
    paypal.fake.ledger.approve(created["providerPaymentId"])
    await call(paypal.http, sub, "confirmPayment", paymentId=created["id"])
    too_much = await call(paypal.http, sub, "capturePayment", paymentId=created["id"], amount=9001)
    assert _codes(too_much) == ["INVALID_AMOUNT"]
    assert paypal.fake.ledger.captures == {}
