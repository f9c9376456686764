"""Disputes through GraphQL against the fake Stripe: reads, scoping, bad input, idempotency."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.factory import create_app
from models.dispute import Dispute
from payments.gateways.stripe.gateway import StripeGateway
from tests.fakes.stripe_api import FakeStripe
from tests.graph.charging import charge
from tests.graph.disputing import (
    DISPUTES,
    PAYMENT_DISPUTES,
    accept,
    admin_token,
    disputes_of,
    submit_evidence,
)
from tests.support import error_codes, graphql, new_subject, serve, token
from tests.webhooks.factories import deliver, dispute_object, event


@dataclass
class Stripe:
    fake: FakeStripe
    http: httpx.AsyncClient
    forwarded: int = 0

    async def disputed(self, inquiry: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
        """A payment charged through our API and disputed at Stripe; (payment, our dispute)."""
        sub = new_subject()
        payment = (await charge(self.http, sub))["payment"]
        self.fake.disputes.open(payment["providerPaymentId"], inquiry=inquiry)
        await self.forward()
        (dispute,) = await disputes_of(self.http, payment["id"])
        return {**payment, "owner": sub}, dispute

    async def forward(self) -> None:
        """Process, in this process, every event the fake recorded since the last call."""
        for stripe_event in self.fake.ledger.events[self.forwarded :]:
            await deliver(stripe_event)
        self.forwarded = len(self.fake.ledger.events)

    def dispute_requests(self) -> list[tuple[str, str | None]]:
        return [(path, key) for method, path, key in self.fake.requests if "/disputes" in path]


@pytest.fixture(scope="module")
async def stripe(settings) -> AsyncIterator[Stripe]:
    fake = FakeStripe()
    async with serve(fake.app()) as stripe_url:
        gateway = StripeGateway("sk_test_disputes", stripe_url, max_network_retries=0)
        stripe_settings = settings.model_copy(update={"gateway": "stripe"})
        app = create_app(stripe_settings, gateway=gateway, owns_database=False)
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield Stripe(fake, http)


async def test_an_opened_dispute_shows_on_its_payment_in_node_and_in_the_admin_list(stripe):
    """The owner sees it on the payment; node(id) finds it; admins filter it by status."""
    payment, dispute = await stripe.disputed()
    assert dispute["status"] == "NEEDS_RESPONSE" and dispute["paymentId"] == payment["id"]
    assert dispute["fundsWithdrawn"] is True and dispute["evidenceDueBy"] is not None
    owner = await graphql(
        stripe.http, PAYMENT_DISPUTES, {"id": payment["id"]}, bearer=token(payment["owner"])
    )
    seen = owner["data"]["payment"]
    assert (seen["disputed"], seen["amountDisputed"]) == (True, payment["amount"])
    assert [d["id"] for d in seen["disputes"]] == [dispute["id"]]
    node = "query($id: ID!) { node(id: $id) { id ... on Dispute { status amount } } }"
    found = await graphql(stripe.http, node, {"id": dispute["id"]}, bearer=token(payment["owner"]))
    assert found["data"]["node"] == {
        "id": dispute["id"],
        "status": "NEEDS_RESPONSE",
        "amount": 10_000,
    }
    stranger = await graphql(stripe.http, node, {"id": dispute["id"]}, bearer=token(new_subject()))
    assert stranger["data"]["node"] is None
    listed = await graphql(
        stripe.http,
        DISPUTES,
        {"first": 100, "filter": {"status": ["NEEDS_RESPONSE"]}},
        bearer=admin_token(),
    )
    ids = [edge["node"]["id"] for edge in listed["data"]["disputes"]["edges"]]
    assert dispute["id"] in ids
    won = await graphql(
        stripe.http, DISPUTES, {"filter": {"status": ["WON"]}}, bearer=admin_token()
    )
    assert dispute["id"] not in [e["node"]["id"] for e in won["data"]["disputes"]["edges"]]


async def test_the_admin_list_pages_newest_first(stripe):
    """first/after walk every dispute once, newest first."""
    opened = [(await stripe.disputed())[1]["id"] for _ in range(3)]
    seen: list[str] = []
    after = None
    while True:
        body = await graphql(
            stripe.http, DISPUTES, {"first": 2, "after": after}, bearer=admin_token()
        )
        page = body["data"]["disputes"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen))
    assert set(opened) <= set(seen)


async def test_disputes_need_the_admin_scope(stripe):
    """A customer token is FORBIDDEN for the list and both mutations; nothing reaches Stripe."""
    payment, dispute = await stripe.disputed()
    before = stripe.dispute_requests()
    customer = token(payment["owner"])
    listed = await graphql(stripe.http, DISPUTES, {}, bearer=customer)
    assert error_codes(listed) == ["FORBIDDEN"]
    answer = await submit_evidence(
        stripe.http, dispute["id"], {"uncategorized_text": "x"}, bearer=customer
    )
    assert error_codes(answer) == ["FORBIDDEN"]
    assert stripe.dispute_requests() == before


@pytest.mark.parametrize(
    "evidence",
    [
        ["uncategorized_text"],
        "a receipt",
        {},
        {"not_a_stripe_field": "x"},
        {"uncategorized_text": 42},
        {"enhanced_evidence": {}},
    ],
    ids=["list", "string", "empty", "unknown-field", "not-text", "nested"],
)
async def test_evidence_that_is_not_stripe_evidence_is_a_validation_error_and_sends_nothing(
    stripe, evidence
):
    """VALIDATION_ERROR on field evidence; Stripe gets no request; the key replays it."""
    _, dispute = await stripe.disputed()
    before, key = stripe.dispute_requests(), uuid.uuid4().hex
    for _ in range(2):
        body = await submit_evidence(stripe.http, dispute["id"], evidence, key=key)
        errors = body["data"]["submitDisputeEvidence"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [("VALIDATION_ERROR", "evidence")]
    assert stripe.dispute_requests() == before


async def test_staged_evidence_keeps_the_dispute_open_and_a_retry_sends_nothing_twice(stripe):
    """submit=false stages at Stripe (still NEEDS_RESPONSE); the same key is answered again."""
    _, dispute = await stripe.disputed()
    key = uuid.uuid4().hex
    evidence = {"customer_name": "Ada Lovelace"}
    first = await submit_evidence(stripe.http, dispute["id"], evidence, submit=False, key=key)
    again = await submit_evidence(stripe.http, dispute["id"], evidence, submit=False, key=key)
    payload = first["data"]["submitDisputeEvidence"]
    assert payload["errors"] == [] and payload["dispute"]["status"] == "NEEDS_RESPONSE"
    assert again["data"]["submitDisputeEvidence"] == payload
    sent = [k for path, k in stripe.dispute_requests() if dispute["providerDisputeId"] in path]
    assert sent == [f"dispute-evidence-{dispute['id']}-{sent[0].rsplit('-', 1)[1]}"]
    at_stripe = stripe.fake.disputes.disputes[dispute["providerDisputeId"]]
    assert at_stripe["evidence"]["customer_name"] == "Ada Lovelace"
    assert at_stripe["evidence_details"]["submission_count"] == 0
    other = await submit_evidence(stripe.http, dispute["id"], {"receipt": "file_1"}, key=key)
    assert [e["code"] for e in other["data"]["submitDisputeEvidence"]["errors"]] == [
        "IDEMPOTENCY_KEY_REUSED"
    ]


async def test_a_closed_dispute_refuses_evidence_and_acceptance(stripe):
    """After acceptDispute (LOST), evidence and a second acceptance are DISPUTE_NOT_OPEN."""
    _, dispute = await stripe.disputed()
    conceded = (await accept(stripe.http, dispute["id"]))["data"]["acceptDispute"]
    assert conceded["dispute"]["status"] == "LOST" and conceded["dispute"]["closedAt"]
    assert conceded["payment"]["disputed"] is False
    before = stripe.dispute_requests()
    evidence = await submit_evidence(stripe.http, dispute["id"], {"uncategorized_text": "x"})
    again = await accept(stripe.http, dispute["id"])
    for body, field in ((evidence, "submitDisputeEvidence"), (again, "acceptDispute")):
        assert [e["code"] for e in body["data"][field]["errors"]] == ["DISPUTE_NOT_OPEN"]
    assert stripe.dispute_requests() == before


async def test_a_dispute_closed_at_stripe_but_not_here_yet_is_not_open(stripe):
    """Stripe refuses a dispute it already closed: DISPUTE_NOT_OPEN, stored on the key."""
    _, dispute = await stripe.disputed()
    stripe.fake.disputes.decide(dispute["providerDisputeId"], won=False)  # its event not sent
    key = uuid.uuid4().hex
    for _ in range(2):
        body = await submit_evidence(stripe.http, dispute["id"], {"receipt": "file_1"}, key=key)
        errors = body["data"]["submitDisputeEvidence"]["errors"]
        assert [e["code"] for e in errors] == ["DISPUTE_NOT_OPEN"]
    assert len([p for p, _ in stripe.dispute_requests() if dispute["providerDisputeId"] in p]) == 1


async def test_accepting_an_inquiry_closes_it_without_money(stripe):
    """An inquiry (WARNING_NEEDS_RESPONSE) accepted is WARNING_CLOSED; no funds moved."""
    _, dispute = await stripe.disputed(inquiry=True)
    assert (dispute["status"], dispute["fundsWithdrawn"]) == ("WARNING_NEEDS_RESPONSE", False)
    closed = (await accept(stripe.http, dispute["id"]))["data"]["acceptDispute"]["dispute"]
    assert closed["status"] == "WARNING_CLOSED"


async def test_an_unknown_dispute_id_is_not_found(stripe):
    """An id that names no dispute (or is absurd) is NOT_FOUND on disputeId, nothing sent."""
    before = stripe.dispute_requests()
    for dispute_id in ("dsp_missing", "x" * 300):
        body = await accept(stripe.http, dispute_id)
        errors = body["data"]["acceptDispute"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [("NOT_FOUND", "disputeId")]
    assert stripe.dispute_requests() == before
    assert await Dispute.filter(id="dsp_missing").count() == 0


@pytest.mark.parametrize("fault", ["before_commit", "after_commit"])
async def test_an_outage_answering_a_dispute_is_retried_with_the_same_stripe_key(stripe, fault):
    """GATEWAY_UNAVAILABLE, then the same-key retry finishes it with the key Stripe saw first."""
    _, dispute = await stripe.disputed()
    stripe.fake.fail_next(f"/v1/disputes/{dispute['providerDisputeId']}", fault)
    key, evidence = uuid.uuid4().hex, {"receipt": "file_receipt"}
    down = await submit_evidence(stripe.http, dispute["id"], evidence, key=key)
    up = await submit_evidence(stripe.http, dispute["id"], evidence, key=key)
    errors = down["data"]["submitDisputeEvidence"]["errors"]
    assert [e["code"] for e in errors] == ["GATEWAY_UNAVAILABLE"]
    assert up["data"]["submitDisputeEvidence"]["dispute"]["status"] == "UNDER_REVIEW"
    sent = [k for path, k in stripe.dispute_requests() if dispute["providerDisputeId"] in path]
    assert len(sent) == 2 and sent[0] == sent[1]
    at_stripe = stripe.fake.disputes.disputes[dispute["providerDisputeId"]]
    assert at_stripe["evidence_details"]["submission_count"] == 1


async def test_the_simulated_gateway_answers_disputes_too(http):
    """A dispute of a simulated payment (a Stripe-shaped webhook) is answered in-process."""
    sub = new_subject()
    payment = (await charge(http, sub))["payment"]
    opened = dispute_object(payment["providerPaymentId"], payment["amount"])
    opened["status"] = "needs_response"
    await deliver(event("charge.dispute.created", opened))
    (dispute,) = await disputes_of(http, payment["id"])
    answered = await submit_evidence(http, dispute["id"], {"anything": "goes here"})
    assert answered["data"]["submitDisputeEvidence"]["dispute"]["status"] == "UNDER_REVIEW"
    conceded = (await accept(http, dispute["id"]))["data"]["acceptDispute"]
    assert (conceded["dispute"]["status"], conceded["payment"]["disputed"]) == ("LOST", False)
