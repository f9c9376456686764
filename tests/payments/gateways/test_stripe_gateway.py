"""The Stripe adapter, through the real SDK over HTTP, against the stateful fake Stripe."""

import uuid
from collections.abc import AsyncIterator

import pytest

from models.enums import PaymentStatus, RefundReason, RefundStatus
from payments.gateways.base import ChargeRequest, RefundRequest
from payments.gateways.stripe import StripeGateway
from payments.shared.errors import GatewayUnavailable, RefundExceedsAvailable
from tests.fakes.stripe_api import FakeStripe
from tests.support import free_port, serve


@pytest.fixture
async def fake() -> AsyncIterator[FakeStripe]:
    fake = FakeStripe()
    async with serve(fake.app()) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
async def gateway(fake: FakeStripe) -> AsyncIterator[StripeGateway]:
    gateway = StripeGateway("sk_test_fake", fake.url, timeout_seconds=2)  # type: ignore[attr-defined]
    yield gateway
    await gateway.aclose()


def _charge(method: str = "pm_card_visa", key: str | None = None) -> ChargeRequest:
    payment_id = f"pay_{uuid.uuid4().hex}"
    return ChargeRequest(
        payment_id, 1500, "USD", method, "cus_1", "order 1", key or f"charge-{payment_id}"
    )


async def test_successful_charge_keeps_brand_and_last4(gateway, fake):
    """pm_card_visa succeeds; the PaymentIntent carries our payment id in its metadata."""
    request = _charge()
    result = await gateway.charge(request)
    intent = fake.intents[result.provider_payment_id]
    assert (result.status, result.card_brand, result.card_last4) == (
        PaymentStatus.SUCCEEDED,
        "visa",
        "4242",
    )
    assert intent["metadata"]["payment_id"] == request.payment_id
    assert (intent["amount"], intent["currency"]) == (1500, "usd")


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_doesNotExist", "payment_method_not_found"),
    ],
)
async def test_declines_are_failed_results_not_errors(gateway, method, code):
    """A 402 decline (or an unknown payment method) is a FAILED result with its code."""
    result = await gateway.charge(_charge(method))
    assert (result.status, result.failure_code) == (PaymentStatus.FAILED, code)


async def test_authentication_required_returns_the_client_secret(gateway):
    """requires_action comes back with the PaymentIntent's client secret."""
    result = await gateway.charge(_charge("pm_card_authenticationRequired"))
    assert result.status is PaymentStatus.REQUIRES_ACTION
    assert result.client_secret and result.client_secret.startswith(result.provider_payment_id)


async def test_same_key_replays_the_same_intent(gateway, fake):
    """A repeated idempotency key gets Stripe's stored answer: one charge only."""
    request = _charge()
    first, again = await gateway.charge(request), await gateway.charge(request)
    assert first.provider_payment_id == again.provider_payment_id
    assert fake.charges_created == 1


async def test_response_lost_after_stripe_charged_is_retried_safely(gateway, fake):
    """Stripe charged but the answer was lost: the SDK's retry replays it, no second charge."""
    fake.fail_next("/v1/payment_intents", "after_commit")
    result = await gateway.charge(_charge())
    assert result.status is PaymentStatus.SUCCEEDED
    assert fake.charges_created == 1
    assert len([r for r in fake.requests if r[1] == "/v1/payment_intents"]) == 2


async def test_server_errors_become_gateway_unavailable(gateway, fake):
    """Repeated 5xx after the SDK's retries is GatewayUnavailable (outcome unknown)."""
    fake.fail_next("/v1/payment_intents", "before_commit", times=3)
    with pytest.raises(GatewayUnavailable):
        await gateway.charge(_charge())
    assert fake.charges_created == 0


async def test_a_hanging_stripe_times_out_as_gateway_unavailable(gateway, fake):
    """No answer within the timeout (after retries) is GatewayUnavailable, not a hang."""
    fake.fail_next("/v1/payment_intents", "hang", times=3)
    with pytest.raises(GatewayUnavailable):
        await gateway.charge(_charge())


async def test_unreachable_stripe_is_gateway_unavailable():
    """A refused connection is GatewayUnavailable."""
    gateway = StripeGateway(
        "sk_test_fake", f"http://127.0.0.1:{free_port()}", max_network_retries=0
    )
    with pytest.raises(GatewayUnavailable):
        await gateway.charge(_charge())
    await gateway.aclose()


async def test_reused_key_with_other_parameters_is_not_a_charge(gateway, fake):
    """Stripe's idempotency_error (a bug on our side) is never taken for a result."""
    key = f"charge-{uuid.uuid4().hex}"
    await gateway.charge(_charge(key=key))
    with pytest.raises(GatewayUnavailable):
        await gateway.charge(_charge("pm_card_mastercard", key=key))
    assert fake.charges_created == 1


async def test_refunds_and_over_refunds(gateway, fake):
    """Refunds succeed up to the amount; past it Stripe's refusal is RefundExceedsAvailable."""
    charged = await gateway.charge(_charge())
    refund = await gateway.refund(
        RefundRequest(
            "rfd_1",
            "pay_1",
            charged.provider_payment_id,
            1000,
            RefundReason.DUPLICATE,
            "refund-rfd_1",
        )
    )
    assert refund.status is RefundStatus.SUCCEEDED
    assert fake.refunds[refund.provider_refund_id]["reason"] == "duplicate"
    with pytest.raises(RefundExceedsAvailable):
        await gateway.refund(
            RefundRequest("rfd_2", "pay_1", charged.provider_payment_id, 501, None, "refund-rfd_2")
        )


async def test_find_by_our_ids(gateway):
    """The reconciler finds a PaymentIntent and a refund by the ids in their metadata."""
    request = _charge()
    charged = await gateway.charge(request)
    await gateway.refund(
        RefundRequest(
            "rfd_x", request.payment_id, charged.provider_payment_id, 100, None, "refund-rfd_x"
        )
    )
    found = await gateway.find_payment(request.payment_id)
    refund = await gateway.find_refund("rfd_x", charged.provider_payment_id)
    assert found and found.provider_payment_id == charged.provider_payment_id
    assert refund and refund.status is RefundStatus.SUCCEEDED
    assert await gateway.find_payment("pay_unknown") is None


async def test_fake_rejects_removed_payment_method_types(fake):
    """The fake, like the pinned API version, refuses payment_method_types."""
    import httpx

    async with httpx.AsyncClient(base_url=fake.url) as client:
        response = await client.post(
            "/v1/payment_intents",
            data={"amount": "100", "currency": "usd", "payment_method_types[0]": "card"},
            headers={"Authorization": "Bearer sk_test_x"},
        )
    assert response.status_code == 400
