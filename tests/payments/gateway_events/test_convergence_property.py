"""Property: Stripe events delivered thrice, shuffled and concurrently, converge like in order."""

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from models.enums import CaptureMethod, InboxStatus
from models.inbox import WebhookEvent
from models.outbox import OutboxEvent
from models.payment import Payment, PaymentStatusHistory, Refund
from payments.gateway_events.inbox import store_event
from payments.gateway_events.service import process_stored_event
from payments.intents.rules import IntentInput
from payments.intents.service import create_intent
from payments.service_config import ServiceConfig
from tests.webhooks.factories import (
    ADMIN,
    PinnedGateway,
    body_of,
    charge_object,
    charged,
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

AMOUNT = 6000
Events = list[dict[str, Any]]


@dataclass(frozen=True)
class Scenario:
    """A realistic life of one payment at Stripe; `refunds` are amounts, `full` adds the rest."""

    kind: str
    refunds: tuple[int, ...] = ()
    full: bool = False

    async def play(self) -> tuple[str, Events]:
        """Create the payment through the services; return its id and Stripe's events for it."""
        return await _SCENARIOS[self.kind](self)


async def _processing_then_refunds(scenario: Scenario) -> tuple[str, Events]:
    payment = await charged(amount=AMOUNT)
    pi = payment.provider_payment_id
    events = [event("payment_intent.processing", intent(pi))]
    events.append(event("payment_intent.succeeded", intent(pi, payment.id)))
    amounts = list(scenario.refunds)
    if scenario.full:
        amounts.append(AMOUNT - sum(amounts))
    listed: list[dict[str, Any]] = []
    for amount in amounts:
        re = new_id("re")
        events.append(event("refund.created", refund_object(re, pi, amount, "pending")))
        events.append(event("refund.updated", refund_object(re, pi, amount)))
        listed.append(refund_object(re, pi, amount))
        events.append(event("charge.refunded", charge_object(pi, AMOUNT, list(listed))))
    return payment.id, events


async def _requires_action_then_succeeded(scenario: Scenario) -> tuple[str, Events]:
    payment = await charged("pm_card_authenticationRequired", AMOUNT)
    pi = payment.provider_payment_id
    return payment.id, [
        event("payment_intent.requires_action", intent(pi)),
        event("payment_intent.succeeded", intent(pi)),
    ]


async def _processing_then_failed(scenario: Scenario) -> tuple[str, Events]:
    payment = await charged(amount=AMOUNT)
    pi = payment.provider_payment_id
    error = {"code": "card_declined", "decline_code": "do_not_honor"}
    return payment.id, [
        event("payment_intent.processing", intent(pi)),
        event("payment_intent.payment_failed", intent(pi, last_payment_error=error)),
    ]


async def _succeeded_then_disputed(scenario: Scenario) -> tuple[str, Events]:
    payment = await charged(amount=AMOUNT)
    pi = payment.provider_payment_id
    return payment.id, [
        event("payment_intent.succeeded", intent(pi)),
        event("charge.dispute.created", dispute_object(pi, AMOUNT)),
    ]


async def _api_refunds(scenario: Scenario) -> tuple[str, Events]:
    """One refund settled through our API, one left PENDING; Stripe reports both by webhook."""
    gateway: PinnedGateway = quiet_gateway()
    payment = await refundable(gateway, AMOUNT)
    settled = await refunded_via_api(payment, scenario.refunds[0], gateway)
    gateway.unavailable = True
    waiting = await refunded_via_api(payment, scenario.refunds[1], gateway)
    pi, re_waiting = payment.provider_payment_id, new_id("re")
    first = refund_object(settled.provider_refund_id, pi, settled.amount, refund_id=settled.id)
    second = refund_object(re_waiting, pi, waiting.amount, refund_id=waiting.id)
    return payment.id, [
        event("refund.created", first),
        event("refund.created", {**second, "status": "pending"}),
        event("refund.updated", second),
        event("charge.refunded", charge_object(pi, AMOUNT, [first, second])),
    ]


async def _intent(capture_method: CaptureMethod = CaptureMethod.AUTOMATIC) -> Payment:
    """A payment made by createPaymentIntent (REQUIRES_PAYMENT_METHOD)."""
    intent_input = IntentInput(new_id("order"), AMOUNT, "USD", new_id("cus"), capture_method)
    config = ServiceConfig(gateway=quiet_gateway())
    return await create_intent(ADMIN, intent_input, uuid.uuid4().hex, config)


def _at(stripe_event: dict[str, Any], second: int) -> dict[str, Any]:
    # Stripe's `created`: distinct seconds give the events an order Stripe would have given.
    return {**stripe_event, "created": stripe_event["created"] + second}


async def _authorized_then_captured(scenario: Scenario) -> tuple[str, Events]:
    """Held, captured in part (the rest released), a late duplicate hold event, refunds."""
    payment = await _intent(CaptureMethod.MANUAL)
    pi, captured = payment.provider_payment_id, AMOUNT - scenario.refunds[0]
    held = event("payment_intent.amount_capturable_updated", intent(pi, amount_capturable=AMOUNT))
    charge = {**charge_object(pi, AMOUNT, []), "amount_captured": captured}
    re = new_id("re")
    return payment.id, [
        event("payment_intent.created", intent(pi)),
        _at(held, 0),
        _at(event("charge.captured", charge), 1),
        _at(event("payment_intent.succeeded", intent(pi, amount_received=captured)), 1),
        _at(held, 2),  # Stripe's late duplicate after the capture is absorbed
        event("refund.created", refund_object(re, pi, min(captured, scenario.refunds[1]))),
    ]


async def _authorized_then_canceled(scenario: Scenario) -> tuple[str, Events]:
    payment = await _intent(CaptureMethod.MANUAL)
    pi = payment.provider_payment_id
    held = intent(pi, amount_capturable=AMOUNT)
    voided = intent(pi, cancellation_reason="requested_by_customer", canceled_at=1_700_000_000)
    return payment.id, [
        _at(event("payment_intent.amount_capturable_updated", held), 0),
        _at(event("payment_intent.canceled", voided), 1),
    ]


async def _intent_retried(scenario: Scenario) -> tuple[str, Events]:
    """Declined, authentication asked on the retry, declined again, paid (or not yet)."""
    payment = await _intent()
    pi = payment.provider_payment_id
    first = {"code": "card_declined", "decline_code": "do_not_honor"}
    second = {"code": "card_declined", "decline_code": "insufficient_funds"}
    events = [
        _at(event("payment_intent.payment_failed", intent(pi, last_payment_error=first)), 0),
        _at(event("payment_intent.requires_action", intent(pi)), 1),
        _at(event("payment_intent.payment_failed", intent(pi, last_payment_error=second)), 2),
    ]
    if scenario.full:
        events.append(_at(event("payment_intent.succeeded", intent(pi, amount_received=AMOUNT)), 3))
    return payment.id, events


_SCENARIOS: dict[str, Callable[[Scenario], Awaitable[tuple[str, Events]]]] = {
    "refunds": _processing_then_refunds,
    "requires_action": _requires_action_then_succeeded,
    "failed": _processing_then_failed,
    "dispute": _succeeded_then_disputed,
    "api_refunds": _api_refunds,
    "captured": _authorized_then_captured,
    "voided": _authorized_then_canceled,
    "intent_retried": _intent_retried,
}

scenarios = st.one_of(
    st.builds(
        Scenario,
        kind=st.just("refunds"),
        refunds=st.lists(st.integers(100, 1500), max_size=3).map(tuple),
        full=st.booleans(),
    ),
    st.builds(
        Scenario,
        kind=st.just("api_refunds"),
        refunds=st.tuples(st.integers(100, 3000), st.integers(100, 3000)),
    ),
    st.sampled_from(["requires_action", "failed", "dispute", "voided"]).map(Scenario),
    st.builds(
        Scenario,
        kind=st.just("captured"),
        refunds=st.tuples(st.integers(0, 3000), st.integers(100, 3000)),
    ),
    st.builds(Scenario, kind=st.just("intent_retried"), full=st.booleans()),
)


async def _deliver(stripe_event: dict[str, Any]) -> None:
    """What one delivery leads to: stored once, and this copy's message processes the row."""
    row_id = await store_event("stripe", body_of(stripe_event), envelope_of(stripe_event))
    if row_id is None:
        # A redelivered message of the stored row (Dramatiq is at-least-once).
        row_id = (await WebhookEvent.get(event_id=stripe_event["id"])).id
    await process_stored_event(row_id)


async def _final_state(payment_id: str) -> tuple[Any, ...]:
    payment = await Payment.get(id=payment_id)
    refunds = await Refund.filter(payment_id=payment_id)
    return (
        payment.status,
        payment.amount_captured,
        payment.amount_capturable,
        payment.cancellation_reason,
        payment.canceled_at,
        payment.amount_refunded,
        payment.amount_refund_pending,
        payment.failure_code,
        payment.disputed_at is not None,
        sorted((r.amount, r.status.value, r.source.value) for r in refunds),
    )


async def _assert_one_event_per_applied_change(payment_id: str) -> None:
    payment = await Payment.get(id=payment_id)
    applied = await PaymentStatusHistory.filter(payment_id=payment_id, applied=True).count()
    versions = await OutboxEvent.filter(payment_id=payment_id).values_list("version", flat=True)
    # Version 1 is the creation row, which emits nothing; every later version emits one event.
    assert payment.version == applied
    assert sorted(versions) == list(range(2, payment.version + 1))


# No shrinking: each example creates real payments, and shrinking would replay hundreds.
@settings(
    max_examples=20,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
)
# Every random choice is drawn before anything is written, so no example is abandoned
# half-way (leaving PROCESSING payments behind for other tests to trip over).
@given(lives=st.lists(scenarios, min_size=1, max_size=4), seed=st.integers(0, 2**32 - 1))
async def test_shuffled_concurrent_redeliveries_converge_to_in_order_state(
    database_url, lives, seed
):
    """Each event thrice, shuffled, concurrently: same final state, one event per change."""
    ordered = [await scenario.play() for scenario in lives]
    shuffled = [await scenario.play() for scenario in lives]
    for _, events in ordered:
        for stripe_event in events:
            await _deliver(stripe_event)
    deliveries = [e for _, events in shuffled for e in events for _ in range(3)]
    random.Random(seed).shuffle(deliveries)
    await asyncio.gather(*(_deliver(e) for e in deliveries))
    for (expected_id, _), (actual_id, _) in zip(ordered, shuffled, strict=True):
        assert await _final_state(actual_id) == await _final_state(expected_id)
        await _assert_one_event_per_applied_change(expected_id)
        await _assert_one_event_per_applied_change(actual_id)
    all_ids = [e["id"] for _, events in ordered + shuffled for e in events]
    statuses = await WebhookEvent.filter(event_id__in=all_ids).values_list("status", flat=True)
    # payment_intent.created is stored and has no effect.
    assert set(statuses) <= {InboxStatus.PROCESSED, InboxStatus.IGNORED}
    created = [
        e["id"]
        for _, events in ordered + shuffled
        for e in events
        if e["type"] == "payment_intent.created"
    ]
    ignored = await WebhookEvent.filter(status=InboxStatus.IGNORED, event_id__in=all_ids).count()
    assert ignored == len(created)
