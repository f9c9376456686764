"""The PayPal client over the real SDK and HTTP: one token for all processes, errors mapped."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from models.enums import CaptureMethod, PaymentStatus, RefundStatus
from payments.gateways.base import IntentRequest, RefundRequest
from payments.gateways.paypal.client import PayPalClient
from payments.gateways.paypal.gateway import PayPalGateway
from payments.gateways.paypal.tokens import REFRESH_MARGIN_SECONDS
from payments.shared.errors import GatewayUnavailable, NotFound
from tests.conftest import REDIS_URL
from tests.fakes.paypal_api import CLIENT_ID, CLIENT_SECRET, FakePayPal
from tests.support import free_port, serve


@dataclass
class TwoProcesses:
    fake: FakePayPal
    # Two gateways with their own SDK clients and thread pools, as two processes have.
    first: PayPalGateway
    second: PayPalGateway


def _gateway(redis: Redis, namespace: str, api_base: str) -> PayPalGateway:
    client = PayPalClient(
        CLIENT_ID, CLIENT_SECRET, redis=redis, namespace=namespace, api_base=api_base
    )
    return PayPalGateway(client)


@pytest.fixture
async def processes() -> AsyncIterator[TwoProcesses]:
    fake = FakePayPal()
    namespace = f"paypal-client-{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(REDIS_URL, protocol=3)
    async with serve(fake.app()) as api_base:
        first, second = (_gateway(redis, namespace, api_base) for _ in range(2))
        yield TwoProcesses(fake, first, second)
        await first.aclose()
        await second.aclose()
    await redis.aclose()


def _request() -> IntentRequest:
    payment_id = uuid.uuid4().hex
    return IntentRequest(
        payment_id=payment_id,
        amount=1234,
        currency="EUR",
        customer_id="cus_1",
        description=None,
        capture_method=CaptureMethod.AUTOMATIC,
        idempotency_key=f"intent-{payment_id}",
        return_url="https://shop.example/back",
    )


async def test_one_token_serves_every_process(processes: TwoProcesses):
    """Many calls at once from two processes: PayPal issues one token."""
    results = await asyncio.gather(
        *(gateway.create_intent(_request()) for gateway in [processes.first, processes.second] * 5)
    )
    assert {result.status for result in results} == {PaymentStatus.REQUIRES_ACTION}
    assert processes.fake.tokens_issued == 1
    assert processes.fake.refused == 0


async def test_a_401_refreshes_the_token_once_for_everyone(processes: TwoProcesses):
    """PayPal expires the token early: the calls that see 401 share one new token."""
    await processes.first.create_intent(_request())
    processes.fake.expire_tokens()
    results = await asyncio.gather(
        *(gateway.create_intent(_request()) for gateway in [processes.first, processes.second] * 4)
    )
    assert {result.status for result in results} == {PaymentStatus.REQUIRES_ACTION}
    assert processes.fake.tokens_issued == 2
    assert processes.fake.refused >= 1
    assert len(processes.fake.ledger.orders) == 9


async def test_a_token_is_refreshed_before_it_expires(processes: TwoProcesses):
    """A token within the margin of its expiry is replaced before PayPal would refuse it."""
    processes.fake.token_ttl_seconds = REFRESH_MARGIN_SECONDS + 1
    await processes.first.create_intent(_request())
    await asyncio.sleep(1.2)
    await processes.second.create_intent(_request())
    assert processes.fake.tokens_issued == 2
    assert processes.fake.refused == 0


async def test_a_server_error_or_no_connection_is_gateway_unavailable(processes: TwoProcesses):
    """A 500 after PayPal made the order, and a PayPal out of reach: the outcome is unknown."""
    processes.fake.fail_after("/v2/checkout/orders")
    request = _request()
    with pytest.raises(GatewayUnavailable):
        await processes.first.create_intent(request)
    # The retry sends the same PayPal-Request-Id: PayPal answers the order it made.
    retried = await processes.first.create_intent(request)
    assert list(processes.fake.ledger.orders) == [retried.provider_payment_id]
    redis = Redis.from_url(REDIS_URL, protocol=3)
    unreachable = _gateway(redis, uuid.uuid4().hex, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(GatewayUnavailable):
        await unreachable.create_intent(_request())
    await unreachable.aclose()
    await redis.aclose()


async def test_retrieve_and_find_refund_read_paypal_state_for_the_reconciler(
    processes: TwoProcesses,
):
    """An order read back at each step: waiting, captured, refunded by our refund id."""
    gateway, ledger = processes.first, processes.fake.ledger
    request = _request()
    created = await gateway.create_intent(request)
    order_id = created.provider_payment_id
    waiting = await gateway.retrieve_payment(order_id)
    assert waiting.status is PaymentStatus.REQUIRES_ACTION
    assert waiting.next_action is not None and order_id in (waiting.next_action.redirect_url or "")
    ledger.approve(order_id)
    ledger.capture_order(order_id, None)
    captured = await gateway.retrieve_payment(order_id)
    assert (captured.status, captured.amount_captured) == (PaymentStatus.SUCCEEDED, 1234)
    refund = RefundRequest("ref_1", request.payment_id, order_id, 234, None, "refund-ref_1")
    made = await gateway.refund(refund)
    found = await gateway.find_refund("ref_1", order_id)
    assert found == made
    assert found.status is RefundStatus.SUCCEEDED
    assert await gateway.find_refund("ref_2", order_id) is None
    with pytest.raises(NotFound):
        await gateway.retrieve_payment("NOSUCHORDER0000X")
