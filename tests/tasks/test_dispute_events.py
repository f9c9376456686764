"""Disputes end to end: GraphQL against the fake Stripe, webhooks in, the order service told."""

import json
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.fakes.stripe_api import FakeStripe
from tests.graph.disputing import (
    PAYMENT_DISPUTES,
    accept,
    admin_token,
    disputes_of,
    submit_evidence,
)
from tests.graph.live.client import live_client
from tests.support import graphql, new_subject, serve, token
from tests.tasks.fanout_support import Receiver, Stack, fanout_stack
from tests.webhooks.factories import eventually, post_event

LIVE_CHANGES = "subscription { paymentsUpdated { id version disputed } }"
EVIDENCE = {
    "product_description": "Annual plan, delivered by e-mail.",
    "customer_email_address": "buyer@example.com",
    "uncategorized_text": "The customer used the service for three months.",
}


def _events_by_payment(receiver: Receiver) -> dict[str, list[dict[str, Any]]]:
    """Each payment's delivered events, in the order the order service received them."""
    received: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in receiver.received:
        if record["status"] < 300:
            body = json.loads(record["body"])
            received[body["data"]["payment"]["id"]].append(body)
    return received


def _forwarder(fake: FakeStripe, http: httpx.AsyncClient) -> Callable[[], Awaitable[None]]:
    """Posts, signed, every event the fake recorded since the last call (as Stripe would)."""
    sent = 0

    async def forward() -> None:
        nonlocal sent
        for stripe_event in fake.ledger.events[sent:]:
            assert (await post_event(http, stripe_event)).status_code == 200
        sent = len(fake.ledger.events)

    return forward


async def _dispute_when(http: httpx.AsyncClient, payment_id: str, status: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def reached() -> bool:
        found[:] = await disputes_of(http, payment_id)
        return len(found) == 1 and found[0]["status"] == status

    await eventually(reached, within=30)
    return found[0]


async def test_one_dispute_won_with_evidence_one_accepted_and_lost_reach_orders_in_order():
    """Both disputes through GraphQL and Stripe's webhooks; the order service hears each change."""
    fake = FakeStripe()
    async with serve(fake.app()) as stripe_url:
        env = {"GATEWAY": "stripe", "STRIPE_API_KEY": "sk_test_d", "STRIPE_API_BASE": stripe_url}
        async with fanout_stack(**env) as stack:
            owner = new_subject()
            async with (
                httpx.AsyncClient(base_url=stack.api, timeout=30) as http,
                live_client(stack.api, token(owner)) as live,
            ):
                await live.subscribe(LIVE_CHANGES)
                won, lost = await _play_both(stack, fake, http, owner)
                pushed = await live.pushes(until=3)

            async def delivered() -> bool:
                events = _events_by_payment(stack.order)
                return all(
                    events[p["id"]]
                    and events[p["id"]][-1]["data"]["payment"]["version"] == p["version"]
                    for p in (won, lost)
                )

            await eventually(delivered, within=30)
    events = _events_by_payment(stack.order)
    for payment, outcome in ((won, "WON"), (lost, "LOST")):
        received = events[payment["id"]]
        versions = [body["data"]["payment"]["version"] for body in received]
        assert versions == list(range(2, payment["version"] + 1)), versions
        types = [body["type"] for body in received]
        assert types[0] == "payment.succeeded"
        assert types.count("dispute.created") == 1 and types.count("dispute.closed") == 1
        assert set(types[1:]) <= {"dispute.created", "dispute.updated", "dispute.closed"}
        assert types.index("dispute.created") < types.index("dispute.closed")
        closed = received[types.index("dispute.closed")]["data"]
        assert closed["dispute"]["status"] == outcome
        assert closed["payment"]["id"] == payment["id"]
        last = received[-1]["data"]["dispute"]
        assert (last["status"], last["fundsWithdrawn"]) == (outcome, True)
        assert last["fundsReinstated"] is (outcome == "WON")
        # The owner's live feed: every version once, in order, disputed while one is open.
        live = [(p["version"], p["disputed"]) for p in pushed if p["id"] == payment["id"]]
        assert [version for version, _ in live] == versions
        closing = types.index("dispute.closed")
        assert [disputed for _, disputed in live] == [
            0 < index < closing for index in range(len(types))
        ]


async def _play_both(
    stack: Stack, fake: FakeStripe, http: httpx.AsyncClient, sub: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Opens, answers and settles both disputes; the payments as they end."""
    forward = _forwarder(fake, http)
    first = await stack.charge(http, sub, orderId="o-dispute-won")
    second = await stack.charge(http, sub, orderId="o-dispute-lost")
    assert (first["status"], second["status"]) == ("SUCCEEDED", "SUCCEEDED")
    won_at_stripe = fake.disputes.open(first["providerPaymentId"], reason="fraudulent")
    lost_at_stripe = fake.disputes.open(second["providerPaymentId"], reason="product_not_received")
    await forward()
    won = await _dispute_when(http, first["id"], "NEEDS_RESPONSE")
    lost = await _dispute_when(http, second["id"], "NEEDS_RESPONSE")
    assert won["providerDisputeId"] == won_at_stripe["id"]
    assert (won["amount"], won["currency"], won["reason"]) == (10_000, "USD", "fraudulent")

    key = uuid.uuid4().hex
    answered = await submit_evidence(http, won["id"], EVIDENCE, key=key)
    again = await submit_evidence(http, won["id"], EVIDENCE, key=key)
    payload = answered["data"]["submitDisputeEvidence"]
    assert payload["errors"] == [] and payload["dispute"]["status"] == "UNDER_REVIEW"
    assert again["data"]["submitDisputeEvidence"] == payload
    assert fake.disputes.disputes[won_at_stripe["id"]]["evidence"]["receipt"] is None
    assert (
        fake.disputes.disputes[won_at_stripe["id"]]["evidence"]["product_description"]
        == (EVIDENCE["product_description"])
    )
    fake.disputes.decide(won_at_stripe["id"], won=True)

    conceded = (await accept(http, lost["id"]))["data"]["acceptDispute"]
    assert conceded["errors"] == [] and conceded["dispute"]["status"] == "LOST"
    assert conceded["payment"]["disputed"] is False
    await forward()
    await _webhooks_settled(stack, len(fake.ledger.events))
    await _dispute_when(http, first["id"], "WON")
    dispute_calls = [(path, key) for _, path, key in fake.requests if "/v1/disputes" in path]
    assert dispute_calls == [
        (f"/v1/disputes/{won_at_stripe['id']}", dispute_calls[0][1]),
        (f"/v1/disputes/{lost_at_stripe['id']}/close", f"dispute-accept-{lost['id']}"),
    ]
    assert dispute_calls[0][1].startswith(f"dispute-evidence-{won['id']}-")
    return await _payment(http, first["id"]), await _payment(http, second["id"])


async def _payment(http: httpx.AsyncClient, payment_id: str) -> dict[str, Any]:
    body = await graphql(http, PAYMENT_DISPUTES, {"id": payment_id}, bearer=admin_token())
    payment: dict[str, Any] = body["data"]["payment"]
    assert payment["disputed"] is False
    return payment


async def _webhooks_settled(stack: Stack, count: int) -> None:
    async def settled() -> bool:
        rows = await stack.query("SELECT status FROM webhook_events")
        return len(rows) == count and {r["status"] for r in rows} <= {"PROCESSED", "IGNORED"}

    await eventually(settled, within=30)
