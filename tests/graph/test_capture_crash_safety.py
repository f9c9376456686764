"""A crash between Stripe's capture and our commit never captures twice."""

import asyncio
import os
import signal
import uuid

import httpx
import pytest

from models.enums import PaymentStatus, PendingOperation
from models.payment import Payment
from tests.graph.charging import charge_input
from tests.graph.crashing import stripe_env, wait_for
from tests.graph.lifecycle import MUTATIONS
from tests.processes import api_process
from tests.support import free_port, graphql, new_subject, token


async def test_killed_after_stripe_captured_a_retry_finishes_the_same_capture(
    settings, fake_stripe
):
    """SIGKILL while Stripe's capture answer is in flight; the same-key retry completes it."""
    fake, stripe_url = fake_stripe
    env = {**stripe_env(settings, stripe_url), "IDEMPOTENCY_LOCK_TIMEOUT_SECONDS": "1"}
    port, sub = free_port(), new_subject()
    url = f"http://127.0.0.1:{port}"
    held = {"input": charge_input(captureMethod="MANUAL"), "key": uuid.uuid4().hex}
    async with api_process(env, port=port), httpx.AsyncClient(base_url=url, timeout=30) as client:
        body = await graphql(client, MUTATIONS["chargePayment"], held, bearer=token(sub))
    payment = body["data"]["chargePayment"]["payment"]
    assert payment["status"] == "AUTHORIZED"
    capture = {"input": {"paymentId": payment["id"], "amount": 6000}, "key": uuid.uuid4().hex}
    fake.fail_next(f"/v1/payment_intents/{payment['providerPaymentId']}/capture", "hang")

    async with (
        api_process(env, port=port) as api,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        document = MUTATIONS["capturePayment"]
        in_flight = asyncio.create_task(graphql(client, document, capture, bearer=token(sub)))
        intent = fake.intents[payment["providerPaymentId"]]
        await wait_for(lambda: intent["status"] == "succeeded", "Stripe to capture")
        os.killpg(api.process.pid, signal.SIGKILL)
        await api.process.wait()
        with pytest.raises(httpx.TransportError):
            await in_flight
    stranded = await Payment.get(id=payment["id"])
    assert (stranded.status, stranded.pending_operation, stranded.amount_capture_pending) == (
        PaymentStatus.AUTHORIZED,
        PendingOperation.CAPTURE,
        6000,
    )

    async with api_process(env, port=port), httpx.AsyncClient(base_url=url, timeout=30) as client:
        await asyncio.sleep(1.1)  # the dead request's key lock expires
        body = await graphql(client, MUTATIONS["capturePayment"], capture, bearer=token(sub))
    done = body["data"]["capturePayment"]["payment"]
    assert (done["status"], done["amountCaptured"], done["amountCapturable"]) == (
        "SUCCEEDED",
        6000,
        0,
    )
    captures = [k for _, path, k in fake.requests if path.endswith("/capture")]
    # One capture at Stripe: the retry re-used the same key and got Stripe's stored answer.
    assert captures == [f"capture-{payment['id']}"] * 2
    assert fake.ledger.charges[intent["latest_charge"]]["amount_captured"] == 6000
