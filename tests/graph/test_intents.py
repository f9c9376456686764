"""createPaymentIntent and confirmPayment: the intent flow, declines, states, owners, replay."""

import uuid

import pytest

from models.outbox import OutboxEvent
from models.payment import Payment
from tests.graph.charging import charge
from tests.graph.lifecycle import call, create_intent
from tests.support import new_subject


async def test_intent_waits_for_a_method_and_hands_out_its_client_secret(http):
    """createPaymentIntent: REQUIRES_PAYMENT_METHOD, a clientSecret, one event."""
    sub = new_subject()
    created = await create_intent(http, sub)
    payment = created["payment"]
    assert payment["status"] == "REQUIRES_PAYMENT_METHOD"
    assert created["clientSecret"] and created["clientSecret"] == payment["clientSecret"]
    assert payment["providerPaymentId"].startswith("pi_")
    types = await OutboxEvent.filter(payment_id=payment["id"]).values_list("type", flat=True)
    assert types == ["payment.requires_payment_method"]


async def test_a_decline_returns_to_requires_payment_method_then_another_method_succeeds(http):
    """A declined confirmation keeps the payment open with failureCode; the next one pays it."""
    sub = new_subject()
    payment = (await create_intent(http, sub))["payment"]
    declined = await call(
        http,
        sub,
        "confirmPayment",
        paymentId=payment["id"],
        paymentMethodId="pm_card_chargeDeclined",
    )
    assert (declined["payment"]["status"], declined["payment"]["failureCode"]) == (
        "REQUIRES_PAYMENT_METHOD",
        "card_declined",
    )
    paid = await call(
        http, sub, "confirmPayment", paymentId=payment["id"], paymentMethodId="pm_card_visa"
    )
    assert (paid["payment"]["status"], paid["payment"]["failureCode"]) == ("SUCCEEDED", None)
    assert paid["payment"]["amountCaptured"] == 5000
    event = await OutboxEvent.filter(payment_id=payment["id"]).order_by("-version").first()
    assert event.payload["data"]["payment"]["failureCode"] is None
    stored = await Payment.get(id=payment["id"])
    assert stored.confirmation_attempts == 2


async def test_a_manual_intent_is_authorized_when_confirmed(http):
    """A MANUAL intent: the confirmation authorizes and holds the amount."""
    sub = new_subject()
    payment = (await create_intent(http, sub, captureMethod="MANUAL"))["payment"]
    held = await call(
        http, sub, "confirmPayment", paymentId=payment["id"], paymentMethodId="pm_card_visa"
    )
    assert (held["payment"]["status"], held["payment"]["amountCapturable"]) == ("AUTHORIZED", 5000)


async def test_a_charge_payment_decline_still_fails(http):
    """A declined chargePayment still ends FAILED, not REQUIRES_PAYMENT_METHOD."""
    sub = new_subject()
    payment = (await charge(http, sub, paymentMethodId="pm_card_chargeDeclined"))["payment"]
    assert payment["status"] == "FAILED"


async def test_only_open_intents_are_confirmable(http):
    """A SUCCEEDED intent is PAYMENT_NOT_CONFIRMABLE; another owner's is NOT_FOUND."""
    sub = new_subject()
    payment = (await create_intent(http, sub))["payment"]
    await call(http, sub, "confirmPayment", paymentId=payment["id"], paymentMethodId="pm_card_visa")
    again = await call(
        http, sub, "confirmPayment", paymentId=payment["id"], paymentMethodId="pm_card_visa"
    )
    assert [e["code"] for e in again["errors"]] == ["PAYMENT_NOT_CONFIRMABLE"]
    other = await call(
        http,
        new_subject(),
        "confirmPayment",
        paymentId=payment["id"],
        paymentMethodId="pm_card_visa",
    )
    assert [e["code"] for e in other["errors"]] == ["NOT_FOUND"]


async def test_same_key_confirm_replays_and_other_input_is_reused(http):
    """The same key replays the same payment version; other input is IDEMPOTENCY_KEY_REUSED."""
    sub, key = new_subject(), uuid.uuid4().hex
    payment = (await create_intent(http, sub))["payment"]
    fields = {"paymentId": payment["id"], "paymentMethodId": "pm_card_chargeDeclined"}
    first = await call(http, sub, "confirmPayment", key, **fields)
    again = await call(http, sub, "confirmPayment", key, **fields)
    assert first["payment"]["version"] == again["payment"]["version"]
    assert (await Payment.get(id=payment["id"])).confirmation_attempts == 1
    other = await call(
        http, sub, "confirmPayment", key, **{**fields, "paymentMethodId": "pm_card_visa"}
    )
    assert [e["code"] for e in other["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"paymentMethodId": "pm card"}, "VALIDATION_ERROR", "paymentMethodId"),
        ({"returnUrl": "javascript:alert(1)"}, "VALIDATION_ERROR", "returnUrl"),
        ({"paymentId": "x" * 300}, "NOT_FOUND", "paymentId"),
    ],
    ids=["method", "return-url", "impossible-id"],
)
async def test_bad_confirm_input_is_refused_before_anything(http, fields, code, field):
    """Invalid input is a typed error naming the field; the payment does not move."""
    sub = new_subject()
    payment = (await create_intent(http, sub))["payment"]
    values = {"paymentId": payment["id"], "paymentMethodId": "pm_card_visa", **fields}
    result = await call(http, sub, "confirmPayment", **values)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, field)]
    assert (await Payment.get(id=payment["id"])).version == payment["version"]
