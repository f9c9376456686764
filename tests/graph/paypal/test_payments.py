"""PayPal payments end to end: GraphQL -> service -> SDK -> fake PayPal, and back by events."""

import asyncio
import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from models.enums import PaymentStatus
from models.payment import Payment, PaymentStatusHistory
from tests.fakes.paypal_ledger import INSTRUMENT_DECLINED, to_minor
from tests.graph.charging import refund
from tests.graph.lifecycle import LIFECYCLE_FIELDS, call
from tests.graph.paypal.conftest import PayPalWorld
from tests.support import graphql, new_subject, token

T = TypeVar("T")
RETURN_URL = "https://shop.example/paypal/return"


async def _created(world: PayPalWorld, sub: str, **fields: Any) -> dict[str, Any]:
    values = {
        "orderId": f"order-{uuid.uuid4().hex[:8]}",
        "amount": 5000,
        "currency": "usd",
        "paymentMethodType": "PAYPAL",
        "returnUrl": RETURN_URL,
        "cancelUrl": "https://shop.example/paypal/cancel",
    }
    payload = await call(world.http, sub, "createPaymentIntent", **{**values, **fields})
    assert payload["errors"] == [], payload
    return payload["payment"]


async def _view(world: PayPalWorld, sub: str, payment_id: str) -> dict[str, Any]:
    query = f"""query($id: ID!) {{ payment(id: $id) {{ {LIFECYCLE_FIELDS} provider
      amountReceived nextAction {{ type redirectUrl }} refunds {{ amount status }} }} }}"""
    body = await graphql(world.http, query, {"id": payment_id}, bearer=token(sub))
    assert "errors" not in body, body
    view: dict[str, Any] = body["data"]["payment"]
    return view


async def _confirm(
    world: PayPalWorld, sub: str, payment_id: str, key: str | None = None
) -> dict[str, Any]:
    return await call(world.http, sub, "confirmPayment", key, paymentId=payment_id)


async def test_create_approve_confirm_then_partial_refunds_match_the_ledger(paypal: PayPalWorld):
    """An order for the amount, a redirect, capture on confirm, refunds PayPal also holds."""
    sub = new_subject()
    created = await _created(paypal, sub)
    assert created["status"] == "REQUIRES_ACTION"
    order_id = created["providerPaymentId"]
    order = paypal.fake.ledger.orders[order_id]
    assert order["intent"] == "CAPTURE"
    assert order["purchase_units"][0]["custom_id"] == created["id"]
    assert order["purchase_units"][0]["amount"] == {"currency_code": "USD", "value": "50.00"}
    assert ("POST", "/v2/checkout/orders", f"intent-{created['id']}") in paypal.fake.requests
    view = await _view(paypal, sub, created["id"])
    assert view["provider"] == "paypal"
    assert view["nextAction"] == {
        "type": "REDIRECT_TO_URL",
        "redirectUrl": f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}",
    }

    paypal.fake.ledger.approve(order_id)
    confirmed = await _confirm(paypal, sub, created["id"])
    assert confirmed["errors"] == [], confirmed
    assert confirmed["payment"]["status"] == "SUCCEEDED"
    assert confirmed["payment"]["amountCaptured"] == 5000

    for amount in (1000, 1500):
        payload = await refund(paypal.http, sub, created["id"], amount=amount)
        assert payload["errors"] == [], payload
        assert payload["refund"]["status"] == "SUCCEEDED"
    view = await _view(paypal, sub, created["id"])
    assert view["status"] == "PARTIALLY_REFUNDED"
    _assert_books_match_ledger(paypal, view, order_id)


async def test_concurrent_refunds_never_pass_the_captured_amount(paypal: PayPalWorld):
    """Twelve refunds of 1000 at once on 5000 captured: five succeed, PayPal agrees."""
    sub = new_subject()
    created = await _created(paypal, sub)
    paypal.fake.ledger.approve(created["providerPaymentId"])
    assert (await _confirm(paypal, sub, created["id"]))["payment"]["status"] == "SUCCEEDED"
    payloads = await asyncio.gather(
        *(refund(paypal.http, sub, created["id"], amount=1000) for _ in range(12))
    )
    succeeded = [p for p in payloads if p["refund"] and p["refund"]["status"] == "SUCCEEDED"]
    assert len(succeeded) == 5
    assert {e["code"] for p in payloads for e in p["errors"]} <= {
        "REFUND_EXCEEDS_AVAILABLE",
        "PAYMENT_NOT_REFUNDABLE",
    }
    view = await _view(paypal, sub, created["id"])
    assert view["status"] == "REFUNDED"
    _assert_books_match_ledger(paypal, view, created["providerPaymentId"])


def _assert_books_match_ledger(world: PayPalWorld, view: dict[str, Any], order_id: str) -> None:
    ledger = world.fake.ledger
    captures = ledger.captures_of(order_id)
    assert (
        sum(to_minor(c["amount"]) for c in captures if c["status"] != "DECLINED")
        == view["amountCaptured"]
    )
    refunds = ledger.refunds_of(order_id)
    assert sum(to_minor(r["amount"]) for r in refunds) == view["amountRefunded"]
    ours = sorted(r["amount"] for r in view["refunds"] if r["status"] == "SUCCEEDED")
    assert ours == sorted(to_minor(r["amount"]) for r in refunds)


async def test_confirm_before_approval_is_not_confirmable_and_changes_nothing(paypal: PayPalWorld):
    sub = new_subject()
    created = await _created(paypal, sub)
    payload = await _confirm(paypal, sub, created["id"])
    assert [e["code"] for e in payload["errors"]] == ["PAYMENT_NOT_CONFIRMABLE"]
    row = await Payment.get(id=created["id"])
    assert (row.status, row.version, row.pending_operation) == (
        PaymentStatus.REQUIRES_ACTION,
        created["version"],
        None,
    )
    assert paypal.fake.ledger.money_moves == {}


async def test_a_declined_instrument_fails_the_payment_for_good(paypal: PayPalWorld):
    """INSTRUMENT_DECLINED: FAILED with failureCode instrument_declined, not back to a method."""
    sub = new_subject()
    created = await _created(paypal, sub)
    paypal.fake.ledger.approve(created["providerPaymentId"], INSTRUMENT_DECLINED)
    payload = await _confirm(paypal, sub, created["id"])
    assert payload["payment"]["status"] == "FAILED"
    assert payload["payment"]["failureCode"] == "instrument_declined"


async def test_manual_capture_authorizes_then_captures_part_with_final_capture(paypal: PayPalWorld):
    sub = new_subject()
    created = await _created(paypal, sub, captureMethod="MANUAL", amount=8000)
    order_id = created["providerPaymentId"]
    assert paypal.fake.ledger.orders[order_id]["intent"] == "AUTHORIZE"
    paypal.fake.ledger.approve(order_id)
    confirmed = await _confirm(paypal, sub, created["id"])
    assert confirmed["payment"]["status"] == "AUTHORIZED", confirmed
    assert confirmed["payment"]["amountCapturable"] == 8000
    assert confirmed["payment"]["captureBefore"] is not None
    captured = await call(paypal.http, sub, "capturePayment", paymentId=created["id"], amount=3000)
    assert captured["errors"] == [], captured
    assert captured["payment"]["status"] == "SUCCEEDED"
    assert captured["payment"]["amountCaptured"] == 3000
    assert captured["payment"]["amountCapturable"] == 0
    (authorization,) = paypal.fake.ledger.authorizations.values()
    assert authorization["status"] == "CAPTURED"
    (capture,) = paypal.fake.ledger.captures_of(order_id)
    assert capture["final_capture"] is True
    assert to_minor(capture["amount"]) == 3000


async def test_cancel_voids_an_authorization_and_drops_an_unapproved_order(paypal: PayPalWorld):
    sub = new_subject()
    unapproved = await _created(paypal, sub)
    payload = await call(paypal.http, sub, "cancelPayment", paymentId=unapproved["id"])
    assert payload["payment"]["status"] == "CANCELED", payload
    held = await _created(paypal, sub, captureMethod="MANUAL")
    paypal.fake.ledger.approve(held["providerPaymentId"])
    assert (await _confirm(paypal, sub, held["id"]))["payment"]["status"] == "AUTHORIZED"
    payload = await call(paypal.http, sub, "cancelPayment", paymentId=held["id"])
    assert payload["payment"]["status"] == "CANCELED", payload
    (authorization,) = paypal.fake.ledger.authorizations.values()
    assert authorization["status"] == "VOIDED"
    assert (
        "POST",
        f"/v2/payments/authorizations/{authorization['id']}/void",
        f"cancel-{held['id']}",
    ) in paypal.fake.requests


async def test_a_late_approval_of_a_canceled_payment_captures_nothing(paypal: PayPalWorld):
    sub = new_subject()
    created = await _created(paypal, sub)
    await call(paypal.http, sub, "cancelPayment", paymentId=created["id"])
    order_id = created["providerPaymentId"]
    paypal.fake.ledger.approve(order_id)
    await paypal.deliver("CHECKOUT.ORDER.APPROVED", paypal.fake.ledger.render_order(order_id, None))
    assert paypal.fake.ledger.money_moves == {}
    assert (await Payment.get(id=created["id"])).status is PaymentStatus.CANCELED


async def test_a_currency_or_hold_paypal_cannot_take_is_refused_before_anything(
    paypal: PayPalWorld,
):
    sub = new_subject()
    for fields in ({"currency": "inr"}, {"currency": "brl", "captureMethod": "MANUAL"}):
        order = f"order-{uuid.uuid4().hex[:8]}"
        values = {"amount": 5000, "paymentMethodType": "PAYPAL", "returnUrl": RETURN_URL}
        payload = await call(
            paypal.http, sub, "createPaymentIntent", orderId=order, **values, **fields
        )
        assert [e["code"] for e in payload["errors"]] == ["PAYMENT_METHOD_TYPE_UNSUPPORTED"]
        assert not await Payment.filter(order_id=order).exists()
    assert paypal.fake.ledger.orders == {}


async def _applied_successes(payment_id: str) -> int:
    return await PaymentStatusHistory.filter(
        payment_id=payment_id, applied=True, status=PaymentStatus.SUCCEEDED
    ).count()


async def _after(seconds: float, awaitable: Awaitable[T]) -> T:
    await asyncio.sleep(seconds)
    return await awaitable


@pytest.mark.parametrize(
    ("capture_method", "moved", "path"),
    [
        ("AUTOMATIC", PaymentStatus.SUCCEEDED, "/capture"),
        ("MANUAL", PaymentStatus.AUTHORIZED, "/authorize"),
    ],
)
async def test_confirm_and_the_approval_event_race_to_exactly_one_capture(
    paypal: PayPalWorld, capture_method: str, moved: PaymentStatus, path: str
):
    """Against a slow PayPal, the BFF's confirm and the worker's event move money once."""
    paypal.fake.slow(path, 0.2)
    sub = new_subject()
    for attempt in range(8):
        created = await _created(paypal, sub, captureMethod=capture_method)
        order_id = created["providerPaymentId"]
        paypal.fake.ledger.approve(order_id)
        resource = paypal.fake.ledger.render_order(order_id, None)
        # Each side gets a head start in turn, so both orders of arrival are raced.
        head_start = 0.1 * (attempt % 3)
        confirmed, _ = await asyncio.gather(
            _after(head_start if attempt % 2 else 0, _confirm(paypal, sub, created["id"])),
            _after(
                0 if attempt % 2 else head_start,
                paypal.deliver("CHECKOUT.ORDER.APPROVED", resource),
            ),
        )
        # Joined while the worker captured, or after it finished (nothing left to confirm).
        assert confirmed["errors"] == [] or [e["code"] for e in confirmed["errors"]] == [
            "PAYMENT_NOT_CONFIRMABLE"
        ], confirmed
        row = await Payment.get(id=created["id"])
        assert row.status is moved
        assert row.pending_operation is None
        assert paypal.fake.ledger.money_moves[order_id] == 1
        held = paypal.fake.ledger.captures_of(order_id) or [
            a for a in paypal.fake.ledger.authorizations.values() if a["_order"] == order_id
        ]
        assert len(held) == 1
        applied = await PaymentStatusHistory.filter(
            payment_id=created["id"], applied=True, status=moved
        ).count()
        assert applied == 1


async def test_a_500_after_paypal_captured_still_ends_in_one_capture(paypal: PayPalWorld):
    """PayPal captures, then answers 500: the event and a same-key retry settle it, once."""
    sub = new_subject()
    created = await _created(paypal, sub)
    order_id = created["providerPaymentId"]
    paypal.fake.ledger.approve(order_id)
    paypal.fake.fail_after("/capture")
    key = uuid.uuid4().hex
    first = await _confirm(paypal, sub, created["id"], key)
    assert [e["code"] for e in first["errors"]] == ["GATEWAY_UNAVAILABLE"]
    await paypal.deliver("CHECKOUT.ORDER.APPROVED", paypal.fake.ledger.render_order(order_id, None))
    retried = await _confirm(paypal, sub, created["id"], key)
    assert retried["payment"]["status"] == "SUCCEEDED", retried
    assert paypal.fake.ledger.money_moves[order_id] == 1
    assert await _applied_successes(created["id"]) == 1
