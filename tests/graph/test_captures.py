"""capturePayment: authorize then capture all or part, bad amounts, states, owners, concurrency."""

import asyncio
import uuid

import pytest

from models.outbox import OutboxEvent
from models.payment import Payment
from tests.graph.charging import charge, refund
from tests.graph.lifecycle import authorized, call
from tests.support import new_subject


async def test_manual_charge_authorizes_and_a_full_capture_succeeds(http):
    """MANUAL ends AUTHORIZED holding the amount; capture moves it to SUCCEEDED, one event each."""
    sub = new_subject()
    payment = await authorized(http, sub)
    assert (payment["amountCapturable"], payment["amountCaptured"]) == (10_000, 0)
    assert payment["captureMethod"] == "MANUAL" and payment["captureBefore"]
    assert payment["amountRefundable"] == 0
    captured = (await call(http, sub, "capturePayment", paymentId=payment["id"]))["payment"]
    assert (captured["status"], captured["amountCaptured"], captured["amountCapturable"]) == (
        "SUCCEEDED",
        10_000,
        0,
    )
    assert captured["version"] == payment["version"] + 1
    events = await OutboxEvent.filter(payment_id=payment["id"]).order_by("version")
    assert [e.type for e in events] == ["payment.authorized", "payment.succeeded"]
    assert events[-1].payload["data"]["payment"]["amountCaptured"] == 10_000


async def test_partial_capture_releases_the_rest_and_bounds_refunds(http):
    """Capturing 6,000 of 10,000 releases 4,000; refunds then stop at 6,000."""
    sub = new_subject()
    payment = await authorized(http, sub)
    captured = await call(http, sub, "capturePayment", paymentId=payment["id"], amount=6000)
    assert (captured["payment"]["amountCaptured"], captured["payment"]["amountRefundable"]) == (
        6000,
        6000,
    )
    over = await refund(http, sub, payment["id"], amount=6001)
    assert [e["code"] for e in over["errors"]] == ["REFUND_EXCEEDS_AVAILABLE"]
    full = await refund(http, sub, payment["id"])
    assert (full["payment"]["status"], full["payment"]["amountRefunded"]) == ("REFUNDED", 6000)


@pytest.mark.parametrize(("amount", "code"), [(0, "INVALID_AMOUNT"), (-5, "INVALID_AMOUNT")])
async def test_capture_amount_must_be_positive(http, amount, code):
    """A zero or negative capture is INVALID_AMOUNT and nothing moves."""
    sub = new_subject()
    payment = await authorized(http, sub)
    result = await call(http, sub, "capturePayment", paymentId=payment["id"], amount=amount)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, "amount")]
    assert (await Payment.get(id=payment["id"])).status.value == "AUTHORIZED"


async def test_capture_of_more_than_capturable_is_invalid_and_replayed(http):
    """More than amountCapturable is INVALID_AMOUNT; the same key replays the same error."""
    sub, key = new_subject(), uuid.uuid4().hex
    payment = await authorized(http, sub, amount=1000)
    first = await call(http, sub, "capturePayment", key, paymentId=payment["id"], amount=1001)
    again = await call(http, sub, "capturePayment", key, paymentId=payment["id"], amount=1001)
    assert [e["code"] for e in first["errors"]] == [e["code"] for e in again["errors"]]
    assert [e["code"] for e in first["errors"]] == ["INVALID_AMOUNT"]
    stored = await Payment.get(id=payment["id"])
    assert (stored.amount_capture_pending, stored.pending_operation) == (0, None)


async def test_only_authorized_payments_are_capturable(http):
    """A SUCCEEDED (automatic) payment, or one captured already, is PAYMENT_NOT_CAPTURABLE."""
    sub = new_subject()
    settled = (await charge(http, sub))["payment"]
    result = await call(http, sub, "capturePayment", paymentId=settled["id"])
    assert [e["code"] for e in result["errors"]] == ["PAYMENT_NOT_CAPTURABLE"]


async def test_capture_of_another_owners_payment_is_not_found(http):
    """Another customer's authorization reads as NOT_FOUND and stays authorized."""
    payment = await authorized(http, new_subject())
    result = await call(http, new_subject(), "capturePayment", paymentId=payment["id"])
    assert [e["code"] for e in result["errors"]] == ["NOT_FOUND"]
    assert (await Payment.get(id=payment["id"])).amount_captured == 0


async def test_same_key_capture_replays_without_a_second_capture(http, gateway):
    """The same key and input returns the same payment; the gateway is not called again."""
    sub, key = new_subject(), uuid.uuid4().hex
    payment = await authorized(http, sub)
    first = await call(http, sub, "capturePayment", key, paymentId=payment["id"], amount=700)
    replies = len(gateway.replies)
    again = await call(http, sub, "capturePayment", key, paymentId=payment["id"], amount=700)
    assert first["payment"]["version"] == again["payment"]["version"]
    assert len(gateway.replies) == replies
    reused = await call(http, sub, "capturePayment", key, paymentId=payment["id"], amount=800)
    assert [e["code"] for e in reused["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]


async def test_ten_concurrent_captures_capture_once(http):
    """10 same-key and 10 different-key captures at once: one capture, never past the hold."""
    sub, shared = new_subject(), uuid.uuid4().hex
    payment = await authorized(http, sub, amount=5000)
    keys = [shared] * 10 + [uuid.uuid4().hex for _ in range(10)]
    results = await asyncio.gather(
        *(call(http, sub, "capturePayment", k, paymentId=payment["id"], amount=3000) for k in keys)
    )
    codes = {e["code"] for r in results for e in r["errors"]}
    assert codes <= {"PAYMENT_NOT_CAPTURABLE", "IDEMPOTENCY_KEY_IN_USE"}
    stored = await Payment.get(id=payment["id"])
    assert (stored.status.value, stored.amount_captured, stored.amount_capture_pending) == (
        "SUCCEEDED",
        3000,
        0,
    )
    succeeded = await OutboxEvent.filter(payment_id=payment["id"], type="payment.succeeded")
    assert len(succeeded) == 1
