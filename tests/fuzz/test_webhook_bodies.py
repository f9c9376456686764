"""Fuzz: signed webhook bodies shaped like Stripe events are never a 5xx and move no money."""

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from models.inbox import WebhookEvent
from models.payment import Payment
from payments.gateway_events.service import PaymentNotYetKnown, process_stored_event
from payments.gateways.simulated.paypal import (
    DEVELOPMENT_CERT_URL,
    DEVELOPMENT_WEBHOOK_ID,
    development_identity,
)
from tests.fuzz.bounds import BOUNDED
from tests.webhooks.factories import signed_headers

HANDLED = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.processing",
    "payment_intent.requires_action",
    "payment_intent.canceled",
    "charge.refunded",
    "refund.created",
    "refund.updated",
    "refund.failed",
    "charge.dispute.created",
]
ANY_TEXT = st.one_of(st.text(), st.text(min_size=200, max_size=400), st.just("a\u0000b"))
IDS = st.one_of(st.from_regex(r"\A(evt|pi|ch|re|pay)_[A-Za-z0-9]{8,24}\Z"), ANY_TEXT)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=10,
)
NUMBERS = st.one_of(st.integers(), st.integers(-(2**70), 2**70), st.floats(), st.none(), st.text())
OBJECTS = st.fixed_dictionaries(
    {},
    optional={
        "id": IDS | JSON,
        "object": st.sampled_from(["payment_intent", "charge", "refund", "dispute"]) | JSON,
        "payment_intent": IDS | st.fixed_dictionaries({"id": IDS}) | JSON,
        "amount": NUMBERS,
        "amount_received": NUMBERS,
        "amount_refunded": NUMBERS,
        "status": st.sampled_from(["succeeded", "failed", "pending", "canceled"]) | JSON,
        "metadata": st.dictionaries(st.sampled_from(["payment_id", "refund_id"]), IDS) | JSON,
        "refunds": JSON,
        "last_payment_error": JSON,
        "latest_charge": IDS | JSON,
    },
)
EVENTS = st.fixed_dictionaries(
    {"id": IDS, "type": st.sampled_from(HANDLED) | ANY_TEXT},
    optional={
        "object": st.just("event"),
        "created": NUMBERS,
        "data": st.fixed_dictionaries({"object": OBJECTS}) | JSON,
    },
)


async def _money() -> list[tuple[Any, ...]]:
    fields = ("id", "status", "amount", "amount_refunded", "amount_refund_pending", "version")
    return sorted(await Payment.all().values_list(*fields))


@settings(BOUNDED, max_examples=150)
@given(stripe_event=EVENTS)
async def test_signed_event_bodies_are_answered_below_500_and_move_no_money(
    server_client, stripe_event
):
    """Verified random events get 200 or 400; processing one matching nothing changes nothing."""
    before = await _money()
    body = json.dumps(stripe_event).encode()  # ASCII-escaped, as any JSON encoder may send
    response = await server_client.post(
        "/webhooks/stripe", content=body, headers=signed_headers(body)
    )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        row = await WebhookEvent.get(event_id=stripe_event["id"])
        # No payment matches: the actor would retry it later, then park it.
        with contextlib.suppress(PaymentNotYetKnown):
            await process_stored_event(row.id)
    assert await _money() == before


PAYPAL_HANDLED = [
    "CHECKOUT.ORDER.APPROVED",
    "PAYMENT.CAPTURE.COMPLETED",
    "PAYMENT.CAPTURE.PENDING",
    "PAYMENT.CAPTURE.DENIED",
    "PAYMENT.CAPTURE.REFUNDED",
    "PAYMENT.AUTHORIZATION.VOIDED",
    "CUSTOMER.DISPUTE.CREATED",
]
TIMES = st.one_of(
    st.sampled_from(
        ["2024-05-01T10:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]
    ),
    st.datetimes().map(lambda moment: moment.isoformat()),
    ANY_TEXT,
    JSON,
)
PAYPAL_RESOURCES = st.fixed_dictionaries(
    {},
    optional={
        "id": IDS | JSON,
        "status": st.sampled_from(["APPROVED", "COMPLETED", "PENDING", "DECLINED"]) | JSON,
        "custom_id": IDS | JSON,
        "amount": st.fixed_dictionaries({"currency_code": ANY_TEXT, "value": ANY_TEXT}) | JSON,
        "supplementary_data": st.fixed_dictionaries(
            {"related_ids": st.fixed_dictionaries({"order_id": IDS | JSON})}
        )
        | JSON,
        "purchase_units": st.lists(st.fixed_dictionaries({"custom_id": IDS | JSON}), max_size=2)
        | JSON,
    },
)
PAYPAL_EVENTS = st.fixed_dictionaries(
    {"id": IDS | JSON, "event_type": st.sampled_from(PAYPAL_HANDLED) | ANY_TEXT | JSON},
    optional={"create_time": TIMES, "resource": PAYPAL_RESOURCES | JSON},
)


@settings(BOUNDED, max_examples=60)
@given(paypal_event=PAYPAL_EVENTS)
async def test_signed_paypal_bodies_are_answered_below_500_and_move_no_money(
    server_client, paypal_event
):
    """PayPal events signed as the simulated PayPal signs them: 200 or 400, no money moved."""
    before = await _money()
    body = json.dumps(paypal_event).encode()
    signer = development_identity().issued
    headers = signer.sign_paypal_webhook(body, DEVELOPMENT_CERT_URL, DEVELOPMENT_WEBHOOK_ID)
    response = await server_client.post("/webhooks/paypal", content=body, headers=headers)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        row = await WebhookEvent.get(provider="paypal", event_id=paypal_event["id"])
        with contextlib.suppress(PaymentNotYetKnown):
            await process_stored_event(row.id)
    assert await _money() == before
