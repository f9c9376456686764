"""The simulated gateway: Stripe-shaped outcomes, refunds bounded like Stripe's."""

import pytest

from models.enums import PaymentStatus, RefundStatus
from payments.gateways.base import ChargeRequest, RefundRequest
from payments.gateways.simulated import SimulatedGateway, own_webhook_url
from payments.shared.errors import RefundExceedsAvailable


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
