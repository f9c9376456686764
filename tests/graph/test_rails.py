"""The rails' shared vocabulary: provider, method type, amount received, next action."""

import uuid

import pytest

from models.enums import PaymentMethodType
from models.outbox import OutboxEvent
from models.payment import Payment
from payments.intents import service as intents
from payments.intents.rules import IntentInput
from payments.service_config import ServiceConfig
from payments.shared.auth import ALL_SCOPES, Principal
from payments.shared.errors import PaymentMethodTypeUnsupported
from tests.graph.charging import charge
from tests.graph.lifecycle import call, create_intent
from tests.support import graphql, new_subject, token
from tests.webhooks.factories import event, intent, post_event

ADMIN = Principal("rails-tests", frozenset(ALL_SCOPES.split()))
PAYPAL = PaymentMethodType.PAYPAL
RAILS_FIELDS = """
query($id: ID!) {
  payment(id: $id) {
    provider paymentMethodType amountReceived amountCaptured status
    nextAction { type redirectUrl bankTransfer { reference amountRemaining } }
  }
}"""


async def _rails_view(http, payment_id: str, sub: str) -> dict:
    body = await graphql(http, RAILS_FIELDS, {"id": payment_id}, bearer=token(sub))
    assert "errors" not in body, body
    return body["data"]["payment"]


async def test_a_card_payment_names_its_rail_and_has_nothing_left_to_do(http):
    """A paid card payment: the simulated provider, CARD, received what was captured, no action."""
    sub = new_subject()
    payment = (await charge(http, sub))["payment"]
    view = await _rails_view(http, payment["id"], sub)
    assert view["provider"] == "simulated"
    assert view["paymentMethodType"] == "CARD"
    assert view["amountReceived"] == view["amountCaptured"] > 0
    assert view["nextAction"] is None
    # Consumers (HTTP and Kafka) are told the same amountReceived as GraphQL shows.
    event = await OutboxEvent.filter(payment_id=payment["id"]).order_by("-version").first()
    assert event is not None
    assert event.payload["data"]["payment"]["amountReceived"] == view["amountCaptured"]


async def test_card_authentication_is_a_client_secret_action_for_the_owner_only(http):
    """A card needing 3-D Secure asks its owner to use the client secret; others see nothing."""
    owner = new_subject()
    payment = (await charge(http, owner, paymentMethodId="pm_card_authenticationRequired"))[
        "payment"
    ]
    assert (await _rails_view(http, payment["id"], owner))["nextAction"] == {
        "type": "USE_CLIENT_SECRET",
        "redirectUrl": None,
        "bankTransfer": None,
    }
    admin = await graphql(
        http,
        RAILS_FIELDS,
        {"id": payment["id"]},
        bearer=token("ops", ALL_SCOPES),
    )
    assert admin["data"]["payment"]["nextAction"] is None


async def test_a_stored_next_action_is_read_back_for_its_owner(http):
    """What a rail stored as the next action (a redirect) is what the owner is shown."""
    sub = new_subject()
    payment = (await charge(http, sub, paymentMethodId="pm_card_authenticationRequired"))["payment"]
    redirect = {"type": "REDIRECT_TO_URL", "redirect_url": "https://pay.example/approve?x=1"}
    await Payment.filter(id=payment["id"]).update(next_action=redirect)
    view = await _rails_view(http, payment["id"], sub)
    assert view["nextAction"]["type"] == "REDIRECT_TO_URL"
    assert view["nextAction"]["redirectUrl"] == "https://pay.example/approve?x=1"


async def test_a_rail_this_process_does_not_offer_is_refused_before_anything_is_written(gateway):
    """PAYPAL where no PayPal rail is wired: PAYMENT_METHOD_TYPE_UNSUPPORTED, no payment.

    Every rail has a simulated stand-in in `payments dev`, so the missing rail is a
    ServiceConfig without one, as a process built with only the card rail has.
    """
    order_id = f"order-{uuid.uuid4().hex[:8]}"
    request = IntentInput(order_id, 5000, "usd", new_subject(), payment_method_type=PAYPAL)
    with pytest.raises(PaymentMethodTypeUnsupported):
        await intents.create_intent(
            ADMIN, request, uuid.uuid4().hex, ServiceConfig(gateway=gateway)
        )
    assert not await Payment.filter(order_id=order_id).exists()


async def test_paypal_intent_asks_its_owner_to_approve_at_the_simulated_paypal(http):
    """Without PayPal credentials PAYPAL goes to the simulated PayPal: REQUIRES_ACTION, redirect."""
    sub = new_subject()
    payload = await call(
        http,
        sub,
        "createPaymentIntent",
        orderId=f"order-{uuid.uuid4().hex[:8]}",
        amount=5000,
        currency="usd",
        paymentMethodType="PAYPAL",
    )
    assert not payload["errors"], payload
    view = await _rails_view(http, payload["payment"]["id"], sub)
    assert (view["provider"], view["paymentMethodType"], view["status"]) == (
        "paypal",
        "PAYPAL",
        "REQUIRES_ACTION",
    )
    assert view["nextAction"]["type"] == "REDIRECT_TO_URL"
    assert "/simulated/paypal/" in view["nextAction"]["redirectUrl"]


async def test_paypal_cannot_be_charged_without_the_buyers_approval(http):
    """PAYPAL on chargePayment: PAYMENT_METHOD_TYPE_UNSUPPORTED (an intent is the way)."""
    sub = new_subject()
    payload = await call(
        http,
        sub,
        "chargePayment",
        orderId=f"order-{uuid.uuid4().hex[:8]}",
        amount=5000,
        currency="usd",
        paymentMethodId="pm_card_visa",
        paymentMethodType="PAYPAL",
    )
    assert [e["code"] for e in payload["errors"]] == ["PAYMENT_METHOD_TYPE_UNSUPPORTED"]


async def test_return_and_cancel_urls_must_be_http(http):
    """A javascript: or relative returnUrl/cancelUrl is a VALIDATION_ERROR naming the field."""
    sub = new_subject()
    payload = await call(
        http,
        sub,
        "createPaymentIntent",
        orderId=f"order-{uuid.uuid4().hex[:8]}",
        amount=5000,
        currency="usd",
        returnUrl="javascript:alert(1)",
        cancelUrl="/relative",
    )
    assert {(e["code"], e["field"]) for e in payload["errors"]} == {
        ("VALIDATION_ERROR", "returnUrl"),
        ("VALIDATION_ERROR", "cancelUrl"),
    }


async def test_a_card_confirmation_still_needs_a_method(http):
    """ConfirmPayment of a card intent without paymentMethodId: VALIDATION_ERROR, nothing moves."""
    sub = new_subject()
    payment = (await create_intent(http, sub))["payment"]
    payload = await call(http, sub, "confirmPayment", paymentId=payment["id"])
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("VALIDATION_ERROR", "paymentMethodId")
    ]
    assert (await Payment.get(id=payment["id"])).status.value == "REQUIRES_PAYMENT_METHOD"


async def test_stored_webhook_events_name_their_provider(http):
    """WebhookEvents shows provider and providerEventId (stripeEventId kept, equal to it)."""
    stripe_event = event("payment_intent.processing", intent(f"pi_{uuid.uuid4().hex[:12]}"))
    assert (await post_event(http, stripe_event)).status_code == 200
    body = await graphql(
        http,
        """query($id: String) {
             webhookEvents(first: 1, filter: {stripeEventId: $id, provider: "stripe"}) {
               edges { node { provider providerEventId stripeEventId } } } }""",
        {"id": stripe_event["id"]},
        bearer=token("ops", ALL_SCOPES),
    )
    assert "errors" not in body, body
    nodes = [edge["node"] for edge in body["data"]["webhookEvents"]["edges"]]
    assert nodes == [
        {
            "provider": "stripe",
            "providerEventId": stripe_event["id"],
            "stripeEventId": stripe_event["id"],
        }
    ]
