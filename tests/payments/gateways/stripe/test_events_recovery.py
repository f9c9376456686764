"""Events whose webhooks never arrived are recovered from Stripe's Events list, once."""

import uuid

from models.enums import PaymentStatus
from models.inbox import WebhookEvent
from models.payment import Payment
from payments.charges.rules import ChargeInput
from payments.charges.service import charge
from payments.gateway_events.recovery import apply_recovered_now, recover_missed_events
from payments.service_config import ServiceConfig
from tests.fakes.stripe_examples import example
from tests.webhooks.factories import ADMIN


async def _processing_debit(gateway) -> Payment:
    """A bank debit through the adapter: PROCESSING until Stripe settles it days later."""
    order = ChargeInput(
        order_id=f"order-{uuid.uuid4().hex[:8]}",
        amount=2500,
        currency="usd",
        payment_method_id="pm_usBankAccount_success",
        customer_id="cus_recovery",
    )
    payment = await charge(ADMIN, order, uuid.uuid4().hex, ServiceConfig(gateway=gateway))
    assert payment.status is PaymentStatus.PROCESSING
    return payment


async def test_a_settlement_whose_webhook_was_lost_is_recovered_and_applied(
    database_url, gateway, fake
):
    """Stripe settles the debit but no webhook comes: the list run stores and applies it."""
    payment = await _processing_debit(gateway)
    fake.ledger.advance()  # Stripe records payment_intent.succeeded; nothing is sent to us
    row_ids = await recover_missed_events(gateway)
    stored = await WebhookEvent.filter(id__in=row_ids).values_list("type", flat=True)
    assert list(stored) == ["payment_intent.succeeded"]
    assert await apply_recovered_now(row_ids) == 1
    await payment.refresh_from_db()
    assert (payment.status, payment.amount_captured) == (PaymentStatus.SUCCEEDED, 2500)


async def test_a_second_run_stores_nothing_again(database_url, gateway, fake):
    """Overlapping runs list the same events: each is stored once, by its Stripe id."""
    await _processing_debit(gateway)
    fake.ledger.advance()
    assert len(await recover_missed_events(gateway)) == 1
    assert await recover_missed_events(gateway) == []


async def test_every_page_is_read_and_unhandled_types_are_not_asked_for(
    database_url, gateway, fake
):
    """230 events span three pages; a type we do not handle is filtered out by Stripe."""
    for _ in range(230):
        intent = example("payment_intent", id=f"pi_{uuid.uuid4().hex}", metadata={})
        fake.ledger.record_event("payment_intent.processing", intent)
    fake.ledger.record_event("customer.created", example("customer", id=f"cus_{uuid.uuid4().hex}"))
    row_ids = await recover_missed_events(gateway)
    assert len(row_ids) == 230
    listed = [path for method, path, _ in fake.requests if path == "/v1/events"]
    assert len(listed) == 3
    assert await WebhookEvent.filter(id__in=row_ids, type="customer.created").count() == 0
