"""Stripe's bank-transfer events converge: money received only grows, duplicates change nothing."""

import uuid

from models.enums import NextActionType, PaymentMethodType, PaymentStatus
from models.outbox import OutboxEvent
from models.payment import Payment
from tests.support import create_payment
from tests.webhooks.factories import deliver, event, intent


def _funded(provider_id: str, payment_id: str, remaining: int, status: str) -> dict:
    """A PaymentIntent of a 100.00 EUR transfer with `remaining` still to come."""
    instructions = {
        "amount_remaining": remaining,
        "currency": "eur",
        "financial_addresses": [
            {
                "type": "iban",
                "iban": {"iban": "DE00123", "bic": "SXPYDEHH", "country": "DE"},
                "supported_networks": ["sepa"],
            }
        ],
        "hosted_instructions_url": None,
        "reference": "REF1",
        "type": "eu_bank_transfer",
    }
    waiting = {"type": "display_bank_transfer_instructions"}
    waiting["display_bank_transfer_instructions"] = instructions  # type: ignore[assignment]
    return intent(
        provider_id,
        payment_id,
        amount=10_000,
        currency="eur",
        status=status,
        amount_received=10_000 if status == "succeeded" else 0,
        next_action=None if status == "succeeded" else waiting,
    )


async def _waiting_transfer() -> Payment:
    return await create_payment(
        amount=10_000,
        currency="EUR",
        status=PaymentStatus.REQUIRES_ACTION,
        payment_method_type=PaymentMethodType.BANK_TRANSFER,
        provider_payment_id=f"pi_{uuid.uuid4().hex}",
        version=2,
        next_action={"type": NextActionType.BANK_TRANSFER_INSTRUCTIONS.value},
    )


async def test_an_older_partial_funding_never_lowers_what_was_received(database_url):
    """40.00 in, then a late report of 20.00 in: amountReceived stays 40.00, one new version."""
    payment = await _waiting_transfer()
    pid = payment.provider_payment_id or ""
    newer = event(
        "payment_intent.partially_funded", _funded(pid, payment.id, 6000, "requires_action")
    )
    older = event(
        "payment_intent.partially_funded", _funded(pid, payment.id, 8000, "requires_action")
    )
    await deliver(newer)
    await deliver(older)
    await deliver(newer | {"id": f"evt_{uuid.uuid4().hex}"})  # the same report once more
    after = await Payment.get(id=payment.id)
    assert (after.status, after.amount_received, after.version) == (
        PaymentStatus.REQUIRES_ACTION,
        4000,
        3,
    )
    assert after.next_action["bank_transfer"]["amount_remaining"] == 6000
    types = await OutboxEvent.filter(payment_id=payment.id).values_list("type", flat=True)
    assert types == ["payment.requires_action"]


async def test_a_partial_funding_after_success_changes_nothing(database_url):
    """Succeeded (all received, all captured), then a late partially_funded: still SUCCEEDED."""
    payment = await _waiting_transfer()
    pid = payment.provider_payment_id or ""
    await deliver(event("payment_intent.succeeded", _funded(pid, payment.id, 0, "succeeded")))
    late = _funded(pid, payment.id, 6000, "requires_action")
    await deliver(event("payment_intent.partially_funded", late))
    after = await Payment.get(id=payment.id)
    assert (after.status, after.amount_received, after.amount_captured, after.version) == (
        PaymentStatus.SUCCEEDED,
        10_000,
        10_000,
        3,
    )
