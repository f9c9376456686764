"""Stripe-shaped events, their signatures, and payments made through the real services.

Events and their objects are copies of Stripe's own examples (`tests.fakes.stripe_examples`)
set to the scenario: conditional fields left out, expandable fields as ids.
"""

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

from models.enums import InboxStatus, RefundReason
from models.payment import Payment, Refund
from payments.charges.rules import ChargeInput
from payments.charges.service import charge
from payments.gateway_events.inbox import store_event
from payments.gateway_events.service import process_stored_event
from payments.gateways.base import (
    ChargeRequest,
    ChargeResult,
    EventEnvelope,
    RefundRequest,
    RefundResult,
)
from payments.gateways.simulated.gateway import SimulatedGateway
from payments.gateways.stripe.updates import read_stripe_envelope
from payments.refunds.rules import RefundInput
from payments.refunds.service import refund
from payments.service_config import ServiceConfig
from payments.shared.auth import ALL_SCOPES, Principal
from payments.shared.errors import GatewayUnavailable
from payments.shared.signatures import stripe_signature_header
from tests.fakes.stripe_examples import example, without
from tests.support import TEST_WEBHOOK_SECRET

ADMIN = Principal("webhook-tests", frozenset(ALL_SCOPES.split()))


def new_id(prefix: str) -> str:
    # Letters break up the digits: 13+ digits in a row would read as a card number.
    hexa = uuid.uuid4().hex
    return f"{prefix}_{hexa[:8]}g{hexa[8:16]}g{hexa[16:24]}"


def event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """A Stripe event envelope around `obj`."""
    return example(
        "event",
        id=event_id or new_id("evt"),
        type=event_type,
        created=int(time.time()),
        data={"object": obj},
    )


def intent(provider_id: str, payment_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A PaymentIntent object; `payment_id` goes into its metadata as our adapter puts it."""
    state: dict[str, Any] = {
        "id": provider_id,
        "metadata": {"payment_id": payment_id} if payment_id else {},
        "client_secret": f"{provider_id}_secret_{uuid.uuid4().hex[:24]}",
        # Null unless the event's state has them; `fields` sets them for that state.
        "canceled_at": None,
        "last_payment_error": None,
        "next_action": None,
        "processing": None,
        "transfer_data": None,
    }
    return example("payment_intent", **{**state, **fields})


def refund_object(
    provider_refund_id: str,
    provider_id: str,
    amount: int,
    status: str = "succeeded",
    refund_id: str | None = None,
) -> dict[str, Any]:
    """A Refund object; `refund_id` is our id in its metadata (refunds made via our API)."""
    refund = example(
        "refund",
        id=provider_refund_id,
        amount=amount,
        charge=new_id("ch"),
        status=status,
        payment_intent=provider_id,
        metadata={"refund_id": refund_id} if refund_id else {},
    )
    # Stripe sends failure_reason only once a refund has failed; callers add it then.
    return without(refund, "failure_reason")


def charge_object(provider_id: str, amount: int, refunds: list[dict[str, Any]]) -> dict[str, Any]:
    """A Charge object as in charge.refunded: the refunded total and its refunds list."""
    refunded = sum(r["amount"] for r in refunds if r["status"] == "succeeded")
    refund_list = example("charge")["refunds"]
    refund_list.update(data=refunds)
    return example(
        "charge",
        id=new_id("ch"),
        payment_intent=provider_id,
        amount=amount,
        amount_captured=amount,
        captured=True,
        amount_refunded=refunded,
        refunded=refunded == amount,
        refunds=refund_list,
        source=None,
        transfer_data=None,
    )


def dispute_object(provider_id: str, amount: int) -> dict[str, Any]:
    """A Dispute object; its charge and payment_intent are ids, as Stripe sends them."""
    return example(
        "dispute", id=new_id("dp"), charge=new_id("ch"), payment_intent=provider_id, amount=amount
    )


def body_of(stripe_event: dict[str, Any]) -> bytes:
    return json.dumps(stripe_event).encode()


def envelope_of(stripe_event: dict[str, Any]) -> EventEnvelope:
    """What the inbox keeps of the event, read as the Stripe route reads it."""
    envelope = read_stripe_envelope(body_of(stripe_event))
    assert envelope is not None, stripe_event
    return envelope


def signed_headers(
    body: bytes, secret: str = TEST_WEBHOOK_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    header = stripe_signature_header(secret, body, timestamp or int(time.time()))
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


async def post_event(
    http: httpx.AsyncClient, stripe_event: dict[str, Any], secret: str = TEST_WEBHOOK_SECRET
) -> httpx.Response:
    """POST a correctly signed event to /webhooks/stripe."""
    body = body_of(stripe_event)
    return await http.post("/webhooks/stripe", content=body, headers=signed_headers(body, secret))


@dataclass
class PinnedGateway(SimulatedGateway):
    """The simulated gateway without delayed webhooks; it may answer a chosen PI id or be down."""

    pinned_id: str | None = None
    unavailable: bool = False

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        if self.unavailable:
            raise GatewayUnavailable()
        result = await super().charge(request)
        return replace(result, provider_payment_id=self.pinned_id) if self.pinned_id else result

    async def refund(self, request: RefundRequest) -> RefundResult:
        if self.unavailable:
            raise GatewayUnavailable()
        return await super().refund(request)


def quiet_gateway(**fields: Any) -> PinnedGateway:
    return PinnedGateway(webhook_secret=TEST_WEBHOOK_SECRET, webhook_url=None, **fields)


async def charged(
    method: str = "pm_sim_processing", amount: int = 5000, gateway: PinnedGateway | None = None
) -> Payment:
    """A payment made through the charge service (PROCESSING for pm_sim_processing).

    Refunds through the API must use the same `gateway`, which remembers its charges.
    An unavailable gateway leaves the payment PENDING, as a request still in flight would.
    """
    charge_input = ChargeInput(
        order_id=new_id("order"),
        amount=amount,
        currency="USD",
        payment_method_id=method,
        customer_id=new_id("cus"),
    )
    config = ServiceConfig(gateway=gateway or quiet_gateway())
    try:
        return await charge(ADMIN, charge_input, uuid.uuid4().hex, config)
    except GatewayUnavailable:
        return await Payment.get(order_id=charge_input.order_id)


async def refundable(gateway: PinnedGateway, amount: int = 5000) -> Payment:
    """A SUCCEEDED payment to refund."""
    return await charged("pm_card_visa", amount, gateway)


async def refunded_via_api(payment: Payment, amount: int, gateway: PinnedGateway) -> Refund:
    """A refund made through the refund service (PENDING when the gateway is unavailable)."""
    config = ServiceConfig(gateway=gateway)
    refund_input = RefundInput(payment.id, amount, RefundReason.REQUESTED_BY_CUSTOMER)
    try:
        refund_row, _ = await refund(ADMIN, refund_input, uuid.uuid4().hex, config)
    except GatewayUnavailable:
        # The amount stays reserved: a PENDING refund waiting for the gateway's word.
        return await Refund.filter(payment_id=payment.id).order_by("-created_at").first()
    return refund_row


async def deliver(stripe_event: dict[str, Any]) -> InboxStatus:
    """Store a Stripe event as the webhook route does and process it at once, in-process."""
    row_id = await store_event("stripe", body_of(stripe_event), envelope_of(stripe_event))
    assert row_id is not None
    return await process_stored_event(row_id)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 20) -> None:
    """Wait until `check()` holds; fail if it still does not after `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)
