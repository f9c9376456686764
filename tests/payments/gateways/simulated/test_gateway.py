"""The simulated gateway: Stripe-shaped outcomes, captures and refunds bounded like Stripe's."""

from datetime import timedelta

import pytest

from models.enums import CancellationReason, CaptureMethod, PaymentStatus, RefundStatus
from payments.gateways.base import (
    CancelRequest,
    CaptureRequest,
    ChargeRequest,
    ConfirmRequest,
    IntentRequest,
    RefundRequest,
)
from payments.gateways.simulated.gateway import SimulatedGateway, own_webhook_url
from payments.shared.errors import (
    InvalidAmount,
    PaymentNotCancelable,
    PaymentNotCapturable,
    RefundExceedsAvailable,
)
from tests.payments.gateways.requests import manual_charge


def _refund(provider_id: str, amount: int, key: str) -> RefundRequest:
    return RefundRequest(f"rfd_{key}", "pay_1", provider_id, amount, None, f"refund-{key}")


async def test_refunds_past_what_it_charged_are_refused():
    """A charge this gateway made is refunded at most once over."""
    gateway = SimulatedGateway(webhook_secret="whsec_x")
    request = ChargeRequest("pay_1", 1000, "USD", "pm_card_visa", "cus_1", None, "charge-pay_1")
    charged = await gateway.charge(request)
    assert charged.status is PaymentStatus.SUCCEEDED
    await gateway.refund(_refund(charged.provider_payment_id, 600, "a"))
    with pytest.raises(RefundExceedsAvailable):
        await gateway.refund(_refund(charged.provider_payment_id, 401, "b"))


async def test_a_charge_made_by_another_process_can_be_refunded():
    """After a restart (or on another serve worker) the charge is unknown here: not refused."""
    restarted = SimulatedGateway(webhook_secret="whsec_x")
    refund = await restarted.refund(_refund("pi_simmadeelsewhere", 500, "c"))
    assert refund.status is RefundStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("host", "expected"),
    [("0.0.0.0", "127.0.0.1"), ("127.0.0.1", "127.0.0.1"), ("localhost", "localhost")],
)
def test_own_webhook_url_is_reachable(host, expected):
    """A wildcard bind address becomes loopback, where the process can reach itself."""
    assert own_webhook_url(host, 8000) == f"http://{expected}:8000/webhooks/stripe"


def _capture(provider_id: str, amount: int, key: str = "capture-pay_2") -> CaptureRequest:
    return CaptureRequest("pay_2", provider_id, amount, key)


async def test_manual_capture_authorizes_then_captures_part_and_releases_the_rest():
    """MANUAL holds the amount; a partial capture takes that much and nothing stays held."""
    gateway = SimulatedGateway(webhook_secret="whsec_x")
    held = await gateway.charge(manual_charge("pay_2"))
    assert (held.status, held.amount_capturable) == (PaymentStatus.AUTHORIZED, 1000)
    assert held.capture_before is not None
    captured = await gateway.capture(_capture(held.provider_payment_id, 600))
    assert (captured.status, captured.amount_captured) == (PaymentStatus.SUCCEEDED, 600)
    assert await gateway.capture(_capture(held.provider_payment_id, 600)) == captured
    with pytest.raises(PaymentNotCapturable):
        await gateway.capture(_capture(held.provider_payment_id, 100, "capture-other"))


async def test_capture_past_the_authorization_or_after_it_lapsed_is_refused():
    """More than is held is INVALID_AMOUNT; an authorization past its TTL cannot be captured."""
    gateway = SimulatedGateway(webhook_secret="whsec_x")
    held = await gateway.charge(manual_charge("pay_2"))
    with pytest.raises(InvalidAmount):
        await gateway.capture(_capture(held.provider_payment_id, 1001))
    lapsing = SimulatedGateway(webhook_secret="whsec_x", authorization_ttl=timedelta(0))
    lapsed = await lapsing.charge(manual_charge("pay_3"))
    with pytest.raises(PaymentNotCapturable):
        await lapsing.capture(_capture(lapsed.provider_payment_id, 1000))


async def test_intent_is_confirmed_per_attempt_and_canceled_with_its_reason():
    """An intent waits for a method; a declined attempt leaves it open; cancel voids it."""
    gateway = SimulatedGateway(webhook_secret="whsec_x")
    created = await gateway.create_intent(
        IntentRequest("pay_4", 500, "EUR", "cus_1", None, CaptureMethod.AUTOMATIC, "intent-pay_4")
    )
    assert created.status is PaymentStatus.REQUIRES_PAYMENT_METHOD and created.client_secret
    pi = created.provider_payment_id
    declined = await gateway.confirm(_confirm(pi, "pm_card_chargeDeclined", "confirm-pay_4-1"))
    assert (declined.status, declined.failure_code) == (PaymentStatus.FAILED, "card_declined")
    canceled = await gateway.cancel(
        CancelRequest("pay_4", pi, CancellationReason.ABANDONED, "cancel-pay_4")
    )
    assert (canceled.status, canceled.cancellation_reason) == (
        PaymentStatus.CANCELED,
        CancellationReason.ABANDONED,
    )
    with pytest.raises(PaymentNotCancelable):
        await gateway.cancel(CancelRequest("pay_4", pi, None, "cancel-again"))


def _confirm(provider_id: str, method: str, key: str) -> ConfirmRequest:
    return ConfirmRequest(
        "pay_4", provider_id, method, None, 500, "EUR", CaptureMethod.AUTOMATIC, key
    )
