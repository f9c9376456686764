"""A charge's outcome commit: one fenced statement, or the locked path when a webhook won."""

import uuid
from dataclasses import dataclass

import pytest

from models.enums import PaymentStatus
from models.outbox import OutboxEvent
from models.payment import Payment, PaymentStatusHistory
from payments.charges.rules import ChargeInput
from payments.charges.service import charge
from payments.gateways.base import ChargeRequest, ChargeResult
from payments.service_config import ServiceConfig
from tests.webhooks.factories import (
    ADMIN,
    PinnedGateway,
    deliver,
    event,
    intent,
    new_id,
    quiet_gateway,
)

pytestmark = pytest.mark.usefixtures("database_url")


@dataclass
class WebhookFirst(PinnedGateway):
    """Stripe's success webhook is processed while our charge call is still in flight."""

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        result = await super().charge(request)
        succeeded = intent(result.provider_payment_id or "", payment_id=request.payment_id)
        await deliver(event("payment_intent.succeeded", succeeded))
        return result


async def _charge(gateway: PinnedGateway) -> Payment:
    charge_input = ChargeInput(
        order_id=new_id("order"),
        amount=5000,
        currency="USD",
        payment_method_id="pm_card_visa",
        customer_id=new_id("cus"),
    )
    return await charge(ADMIN, charge_input, uuid.uuid4().hex, ServiceConfig(gateway=gateway))


async def _events(payment: Payment) -> list[tuple[int, str]]:
    rows = await OutboxEvent.filter(payment_id=payment.id).order_by("version")
    return [(row.version, row.type) for row in rows]


async def test_an_undisturbed_charge_commits_once_with_its_history_and_event() -> None:
    payment = await _charge(quiet_gateway())
    stored = await Payment.get(id=payment.id)
    assert (stored.status, stored.version, stored.amount_captured) == (
        PaymentStatus.SUCCEEDED,
        2,
        5000,
    )
    assert (payment.status, payment.version) == (stored.status, stored.version)
    assert stored.provider_payment_id == payment.provider_payment_id is not None
    history = await PaymentStatusHistory.filter(payment_id=payment.id).order_by("version")
    assert [(row.status, row.version, row.applied) for row in history] == [
        (PaymentStatus.PENDING, 1, True),
        (PaymentStatus.SUCCEEDED, 2, True),
    ]
    assert history[1].from_status is PaymentStatus.PENDING
    assert await _events(payment) == [(2, "payment.succeeded")]
    event_row = await OutboxEvent.get(payment_id=payment.id)
    assert event_row.payload["data"]["payment"]["version"] == 2


async def test_a_webhook_that_moved_the_payment_first_wins_and_nothing_is_doubled() -> None:
    """The fenced statement finds version 2 and writes nothing; the locked path decides.

    The webhook's move applied first. Our answer adds what the webhook lacked (the card),
    so it applies after it as version 3, once, as `apply_change` always has.
    """
    payment = await _charge(WebhookFirst(webhook_secret="whsec_dGVzdA==", webhook_url=None))
    stored = await Payment.get(id=payment.id)
    assert (stored.status, stored.version) == (PaymentStatus.SUCCEEDED, 3)
    assert (payment.status, payment.version) == (PaymentStatus.SUCCEEDED, 3)
    assert stored.card_last4 == "4242"
    assert await _events(payment) == [(2, "payment.succeeded"), (3, "payment.succeeded")]
    history = await PaymentStatusHistory.filter(payment_id=payment.id).order_by("id")
    assert [(row.status, row.version, row.source.value, row.applied) for row in history] == [
        (PaymentStatus.PENDING, 1, "API", True),
        (PaymentStatus.SUCCEEDED, 2, "WEBHOOK", True),
        (PaymentStatus.SUCCEEDED, 3, "API", True),
    ]
