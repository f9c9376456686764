"""PayPal disputes answered through GraphQL: evidence, acceptance, bad input, closed, replays."""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from app.wiring import simulated_paypal
from models.enums import DisputeStatus, InboxStatus, PaymentMethodType
from payments.gateways.base import DisputeReported
from payments.gateways.paypal.updates import dispute_change
from payments.shared.errors import ValidationFailed
from tests.graph.disputing import accept, disputes_of, submit_evidence
from tests.graph.lifecycle import call
from tests.graph.paypal.conftest import PayPalWorld
from tests.support import new_subject

FULFILLED = {"PROOF_OF_FULFILLMENT": "Shipped with UPS 1Z999AA10123456784 on 2 December."}


async def _disputed(world: PayPalWorld) -> tuple[dict[str, Any], dict[str, Any]]:
    """A PayPal payment captured through our API, then disputed by CUSTOMER.DISPUTE.CREATED."""
    sub = new_subject()
    created = await call(
        world.http,
        sub,
        "createPaymentIntent",
        orderId=f"order-{uuid.uuid4().hex[:8]}",
        amount=4200,
        currency="eur",
        paymentMethodType="PAYPAL",
        returnUrl="https://shop.example/back",
    )
    payment = created["payment"]
    world.fake.ledger.approve(payment["providerPaymentId"])
    confirmed = await call(world.http, sub, "confirmPayment", paymentId=payment["id"])
    assert confirmed["payment"]["status"] == "SUCCEEDED", confirmed
    (capture,) = world.fake.ledger.captures_of(payment["providerPaymentId"])
    opened = world.fake.disputes.open(capture["id"])
    assert await world.deliver("CUSTOMER.DISPUTE.CREATED", opened) is InboxStatus.PROCESSED
    (dispute,) = await disputes_of(world.http, payment["id"])
    assert dispute["status"] == "NEEDS_RESPONSE", dispute
    return payment, dispute


def _dispute_calls(world: PayPalWorld, dispute: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(method and path, PayPal-Request-Id) of the calls the fake had for this dispute."""
    return [
        (f"{method} {path.rsplit('/', 1)[-1]}", request_id)
        for method, path, request_id in world.fake.calls("/v1/customer/disputes/")
        if dispute["providerDisputeId"] in path
    ]


async def test_evidence_puts_a_paypal_dispute_under_review_and_a_resolution_wins_it(
    paypal: PayPalWorld,
):
    """Evidence -> UNDER_REVIEW (our derived PayPal-Request-Id); resolved for the seller -> WON.

    The resolution arrives as PayPal's CUSTOMER.DISPUTE.RESOLVED webhook.
    """
    payment, dispute = await _disputed(paypal)
    answer = await submit_evidence(paypal.http, dispute["id"], FULFILLED)
    payload = answer["data"]["submitDisputeEvidence"]
    assert payload["errors"] == [] and payload["dispute"]["status"] == "UNDER_REVIEW", answer
    assert payload["payment"]["disputed"] is True
    provided, read = _dispute_calls(paypal, dispute)
    assert provided[0] == "POST provide-evidence"
    assert provided[1] is not None and provided[1].startswith(f"dispute-evidence-{dispute['id']}-")
    assert read == (f"GET {dispute['providerDisputeId']}", None)
    at_paypal = paypal.fake.disputes.disputes[dispute["providerDisputeId"]]
    assert [(e["evidence_type"], e["notes"]) for e in at_paypal["evidences"]] == [
        ("PROOF_OF_FULFILLMENT", FULFILLED["PROOF_OF_FULFILLMENT"])
    ]
    resolved = paypal.fake.disputes.resolve(dispute["providerDisputeId"], "RESOLVED_SELLER_FAVOUR")
    assert await paypal.deliver("CUSTOMER.DISPUTE.RESOLVED", resolved) is InboxStatus.PROCESSED
    (won,) = await disputes_of(paypal.http, payment["id"])
    assert won["status"] == "WON" and won["closedAt"] is not None


async def test_accepting_a_paypal_claim_loses_it(paypal: PayPalWorld):
    """accept-claim -> LOST at once (PayPal resolves it for the buyer); not disputed any more."""
    _, dispute = await _disputed(paypal)
    answer = (await accept(paypal.http, dispute["id"]))["data"]["acceptDispute"]
    assert answer["errors"] == [] and answer["dispute"]["status"] == "LOST", answer
    assert answer["payment"]["disputed"] is False
    at_paypal = paypal.fake.disputes.disputes[dispute["providerDisputeId"]]
    assert at_paypal["dispute_outcome"]["outcome_code"] == "RESOLVED_BUYER_FAVOUR"
    (accepted, _) = _dispute_calls(paypal, dispute)
    assert accepted == ("POST accept-claim", f"dispute-accept-{dispute['id']}")


@pytest.mark.parametrize(
    "evidence",
    [
        {"receipt": "a Stripe field"},
        {"CREATE": "a buyer's evidence type"},
        {"PROOF_OF_FULFILLMENT": 42},
        {"PROOF_OF_FULFILLMENT": ""},
        {"PROOF_OF_FULFILLMENT": "x" * 2001},
        {},
        ["PROOF_OF_FULFILLMENT"],
    ],
    ids=["stripe-field", "buyer-type", "not-text", "empty-notes", "too-long", "empty", "list"],
)
async def test_evidence_that_is_not_paypal_evidence_is_a_validation_error_and_sends_nothing(
    paypal: PayPalWorld, evidence: object
):
    """VALIDATION_ERROR on evidence, replayed by the key; PayPal gets no dispute call."""
    _, dispute = await _disputed(paypal)
    key = uuid.uuid4().hex
    for _ in range(2):
        body = await submit_evidence(paypal.http, dispute["id"], evidence, key=key)
        errors = body["data"]["submitDisputeEvidence"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [("VALIDATION_ERROR", "evidence")]
    assert _dispute_calls(paypal, dispute) == []


async def test_a_dispute_resolved_at_paypal_but_not_here_yet_is_not_open(paypal: PayPalWorld):
    """PayPal's 422 on a resolved dispute: DISPUTE_NOT_OPEN, stored on the key (one call)."""
    _, dispute = await _disputed(paypal)
    paypal.fake.disputes.resolve(dispute["providerDisputeId"], "RESOLVED_BUYER_FAVOUR")
    key = uuid.uuid4().hex
    for _ in range(2):
        body = await submit_evidence(paypal.http, dispute["id"], FULFILLED, key=key)
        errors = body["data"]["submitDisputeEvidence"]["errors"]
        assert [e["code"] for e in errors] == ["DISPUTE_NOT_OPEN"]
    assert [c for c, _ in _dispute_calls(paypal, dispute)] == ["POST provide-evidence"]
    # Once the resolution is known here, nothing more is sent at all.
    resolved = paypal.fake.disputes.render(dispute["providerDisputeId"])
    await paypal.deliver("CUSTOMER.DISPUTE.RESOLVED", resolved)
    again = (await accept(paypal.http, dispute["id"]))["data"]["acceptDispute"]
    assert [e["code"] for e in again["errors"]] == ["DISPUTE_NOT_OPEN"]
    assert len(_dispute_calls(paypal, dispute)) == 1


async def test_the_same_key_sent_at_once_and_again_answers_once_at_paypal(paypal: PayPalWorld):
    """Eight concurrent requests and a late retry with one key: one provide-evidence call."""
    _, dispute = await _disputed(paypal)
    key = uuid.uuid4().hex
    answers = await asyncio.gather(
        *(submit_evidence(paypal.http, dispute["id"], FULFILLED, key=key) for _ in range(8))
    )
    answers.append(await submit_evidence(paypal.http, dispute["id"], FULFILLED, key=key))
    done = [a["data"]["submitDisputeEvidence"] for a in answers]
    settled = [d for d in done if not d["errors"]]
    assert settled and all(d["dispute"]["status"] == "UNDER_REVIEW" for d in settled)
    # Concurrent twins are told the key is in use; none is sent on to PayPal.
    assert {e["code"] for d in done for e in d["errors"]} <= {"IDEMPOTENCY_KEY_IN_USE"}
    posts = [c for c in _dispute_calls(paypal, dispute) if c[0].startswith("POST")]
    assert len(posts) == 1
    at_paypal = paypal.fake.disputes.disputes[dispute["providerDisputeId"]]
    assert len(at_paypal["evidences"]) == 1


async def test_a_replayed_paypal_request_id_answers_the_current_dispute(paypal: PayPalWorld):
    """One PayPal-Request-Id sent twice (a lost answer): one evidence stored, current state.

    The second answer is PayPal's replay, the dispute read as it is now.
    """
    _, dispute = await _disputed(paypal)
    reported = dispute_change(paypal.fake.disputes.render(dispute["providerDisputeId"]))[2]
    assert isinstance(reported, DisputeReported)
    answers = paypal.worker.gateway_for(PaymentMethodType.PAYPAL).disputes
    first = await answers.submit_evidence(reported, FULFILLED, True, "replayed-request-id")
    again = await answers.submit_evidence(reported, FULFILLED, True, "replayed-request-id")
    assert first.status is again.status is DisputeStatus.UNDER_REVIEW
    assert len(paypal.fake.disputes.disputes[dispute["providerDisputeId"]]["evidences"]) == 1
    replays = [c for c in _dispute_calls(paypal, dispute) if c[0] == "POST provide-evidence"]
    assert replays == [("POST provide-evidence", "replayed-request-id")] * 2


async def test_the_simulated_paypal_answers_disputes_by_paypal_evidence_types(settings):
    """`payments dev`: PayPal's evidence rule; evidence -> UNDER_REVIEW, acceptance -> LOST."""
    disputes = simulated_paypal(settings).disputes
    with pytest.raises(ValidationFailed):
        disputes.evidence_fields({"receipt": "a Stripe field"})
    assert disputes.evidence_fields(FULFILLED) == FULFILLED
    opened = DisputeReported(
        provider_dispute_id="PP-D-SIM",
        amount=4200,
        currency="EUR",
        reason="merchandise_or_service_not_received",
        status=DisputeStatus.NEEDS_RESPONSE,
        evidence_due_by=None,
        reported_at=datetime.now(UTC),
    )
    # As at PayPal, which stages nothing: evidence without `submit` is submitted too.
    reviewed = await disputes.submit_evidence(opened, FULFILLED, False, "k1")
    lost = await disputes.accept(opened, "k2")
    assert (reviewed.status, lost.status) == (DisputeStatus.UNDER_REVIEW, DisputeStatus.LOST)


async def test_evidence_without_submit_is_submitted_as_paypal_stages_nothing(paypal: PayPalWorld):
    """submit=false: PayPal has no staging, so the evidence is provided (UNDER_REVIEW)."""
    _, dispute = await _disputed(paypal)
    answer = await submit_evidence(paypal.http, dispute["id"], FULFILLED, submit=False)
    payload = answer["data"]["submitDisputeEvidence"]
    assert payload["errors"] == [] and payload["dispute"]["status"] == "UNDER_REVIEW", answer
    assert len(paypal.fake.disputes.disputes[dispute["providerDisputeId"]]["evidences"]) == 1
