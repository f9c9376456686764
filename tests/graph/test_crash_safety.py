"""A crash or an outage between Stripe and our database never charges twice."""

import asyncio
import os
import signal
import uuid

import httpx
import pytest

from app.factory import create_app
from models.enums import PaymentStatus
from models.payment import Payment
from payments.gateways.stripe.gateway import StripeGateway
from tests.graph.charging import CHARGE, REFUND, charge_input
from tests.graph.crashing import stripe_env, wait_for
from tests.processes import api_process
from tests.support import free_port, graphql, new_subject, serve, token


async def test_killed_after_stripe_charged_a_retry_finishes_the_same_payment(settings, fake_stripe):
    """SIGKILL while Stripe's answer is in flight; the same-key retry completes it, one charge."""
    fake, stripe_url = fake_stripe
    env = {**stripe_env(settings, stripe_url), "IDEMPOTENCY_LOCK_TIMEOUT_SECONDS": "1"}
    port, sub, key = free_port(), new_subject(), uuid.uuid4().hex
    variables = {"input": charge_input(orderId="o-crash"), "key": key}
    url = f"http://127.0.0.1:{port}"
    fake.fail_next("/v1/payment_intents", "hang")

    async with (
        api_process(env, port=port) as api,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        in_flight = asyncio.create_task(graphql(client, CHARGE, variables, bearer=token(sub)))
        await wait_for(lambda: fake.charges_created == 1, "Stripe to charge")
        os.killpg(api.process.pid, signal.SIGKILL)
        await api.process.wait()
        with pytest.raises(httpx.TransportError):
            await in_flight
    stranded = await Payment.get(customer_id=sub)
    assert stranded.status is PaymentStatus.PENDING

    async with api_process(env, port=port), httpx.AsyncClient(base_url=url, timeout=30) as client:
        await asyncio.sleep(1.1)  # the dead request's key lock expires
        body = await graphql(client, CHARGE, variables, bearer=token(sub))
    payment = body["data"]["chargePayment"]["payment"]
    assert (payment["id"], payment["status"]) == (stranded.id, "SUCCEEDED")
    assert await Payment.filter(customer_id=sub).count() == 1
    assert fake.charges_created == 1
    keys = [key for _, path, key in fake.requests if path == "/v1/payment_intents"]
    assert keys == [f"charge-{stranded.id}"] * 2


async def test_gateway_outage_is_retryable_and_resumes_the_same_payment(settings, fake_stripe):
    """GATEWAY_UNAVAILABLE leaves the payment PENDING; the same-key retry charges it once."""
    fake, stripe_url = fake_stripe
    stripe_settings = settings.model_copy(update={"gateway": "stripe"})
    gateway = StripeGateway("sk_test_outage", stripe_url, max_network_retries=1)
    sub, key = new_subject(), uuid.uuid4().hex
    variables = {"input": charge_input(orderId="o-outage"), "key": key}
    fake.fail_next("/v1/payment_intents", "before_commit", times=2)
    app = create_app(stripe_settings, gateway=gateway, owns_database=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        down = await graphql(client, CHARGE, variables, bearer=token(sub))
        pending = await Payment.get(customer_id=sub)
        up = await graphql(client, CHARGE, variables, bearer=token(sub))
    assert [e["code"] for e in down["data"]["chargePayment"]["errors"]] == ["GATEWAY_UNAVAILABLE"]
    assert pending.status is PaymentStatus.PENDING
    assert up["data"]["chargePayment"]["payment"]["id"] == pending.id
    assert up["data"]["chargePayment"]["payment"]["status"] == "SUCCEEDED"
    assert fake.charges_created == 1


async def test_sigterm_lets_an_in_flight_charge_finish(settings, fake_stripe):
    """SIGTERM while Stripe answers: the charge completes, is answered, then the API exits."""
    fake, stripe_url = fake_stripe
    env = stripe_env(settings, stripe_url)
    sub = new_subject()
    variables = {"input": charge_input(orderId="o-drain"), "key": uuid.uuid4().hex}
    fake.fail_next("/v1/payment_intents", "slow")
    async with api_process(env) as api, httpx.AsyncClient(base_url=api.url, timeout=30) as client:
        in_flight = asyncio.create_task(graphql(client, CHARGE, variables, bearer=token(sub)))
        await wait_for(lambda: fake.charges_created == 1, "Stripe to charge")
        os.killpg(api.process.pid, signal.SIGTERM)
        body = await in_flight
        # uvicorn re-raises the signal once drained: the exit status says SIGTERM.
        assert await api.process.wait() == -signal.SIGTERM
    assert body["data"]["chargePayment"]["payment"]["status"] == "SUCCEEDED"
    assert (await Payment.get(customer_id=sub)).status is PaymentStatus.SUCCEEDED


async def test_killed_after_stripe_refunded_a_retry_finishes_the_same_refund(settings, fake_stripe):
    """SIGKILL while Stripe's refund answer is in flight; the retry completes it, one refund."""
    fake, stripe_url = fake_stripe
    env = {**stripe_env(settings, stripe_url), "IDEMPOTENCY_LOCK_TIMEOUT_SECONDS": "1"}
    port, sub, key = free_port(), new_subject(), uuid.uuid4().hex
    url = f"http://127.0.0.1:{port}"
    async with api_process(env, port=port), httpx.AsyncClient(base_url=url, timeout=30) as client:
        charged = await graphql(
            client, CHARGE, {"input": charge_input(), "key": key}, bearer=token(sub)
        )
    payment_id = charged["data"]["chargePayment"]["payment"]["id"]
    variables = {"input": {"paymentId": payment_id, "amount": 400}, "key": uuid.uuid4().hex}
    fake.fail_next("/v1/refunds", "hang")

    async with (
        api_process(env, port=port) as api,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        in_flight = asyncio.create_task(graphql(client, REFUND, variables, bearer=token(sub)))
        await wait_for(lambda: len(fake.refunds) == 1, "Stripe to refund")
        os.killpg(api.process.pid, signal.SIGKILL)
        await api.process.wait()
        with pytest.raises(httpx.TransportError):
            await in_flight
    reserved = await Payment.get(customer_id=sub)
    assert (reserved.amount_refunded, reserved.amount_refund_pending) == (0, 400)

    async with api_process(env, port=port), httpx.AsyncClient(base_url=url, timeout=30) as client:
        await asyncio.sleep(1.1)  # the dead request's key lock expires
        body = await graphql(client, REFUND, variables, bearer=token(sub))
    result = body["data"]["refundPayment"]
    assert (result["refund"]["status"], result["payment"]["amountRefunded"]) == ("SUCCEEDED", 400)
    assert len(fake.refunds) == 1
    assert (await Payment.get(customer_id=sub)).amount_refund_pending == 0
    keys = {key for _, path, key in fake.requests if path == "/v1/refunds"}
    assert len(keys) == 1 and keys.pop().startswith("refund-")
