"""The Stripe adapter's intents, manual capture and cancel, through the real SDK over HTTP."""

import uuid

import pytest

from models.enums import CancellationReason, CaptureMethod, PaymentStatus
from payments.gateways.base import (
    CancelRequest,
    CaptureRequest,
    ConfirmRequest,
    IntentRequest,
)
from payments.shared.errors import InvalidAmount, PaymentNotCancelable, PaymentNotCapturable
from tests.payments.gateways.requests import manual_charge


async def _authorized(gateway) -> tuple[str, str]:
    payment_id = f"pay_{uuid.uuid4().hex}"
    result = await gateway.charge(manual_charge(payment_id, 1500))
    assert (result.status, result.amount_capturable) == (PaymentStatus.AUTHORIZED, 1500)
    return payment_id, result.provider_payment_id


async def test_manual_charge_is_held_with_capture_before_and_captured_in_part(gateway, fake):
    """capture_method=manual: requires_capture, capture_before read; a partial capture releases."""
    payment_id, pi = await _authorized(gateway)
    assert fake.intents[pi]["capture_method"] == "manual"
    held = await gateway.retrieve_payment(pi)
    assert held.capture_before is not None
    captured = await gateway.capture(CaptureRequest(payment_id, pi, 1000, f"capture-{payment_id}"))
    assert (captured.status, captured.amount_captured) == (PaymentStatus.SUCCEEDED, 1000)
    assert fake.intents[pi]["amount_capturable"] == 0
    assert ("POST", f"/v1/payment_intents/{pi}/capture", f"capture-{payment_id}") in fake.requests
    with pytest.raises(PaymentNotCapturable):
        await gateway.capture(CaptureRequest(payment_id, pi, 100, "capture-again"))


async def test_capture_over_the_hold_is_invalid_amount(gateway):
    """amount_to_capture over amount_capturable: Stripe refuses it, the adapter says why."""
    payment_id, pi = await _authorized(gateway)
    with pytest.raises(InvalidAmount):
        await gateway.capture(CaptureRequest(payment_id, pi, 1501, f"capture-{payment_id}"))


async def test_unconfirmed_intent_then_declined_then_paid(gateway, fake):
    """An intent with automatic_payment_methods; confirm declines, then succeeds, per key."""
    payment_id = f"pay_{uuid.uuid4().hex}"
    request = IntentRequest(payment_id, 900, "EUR", "cus_1", None, CaptureMethod.AUTOMATIC, "i-1")
    created = await gateway.create_intent(request)
    pi = created.provider_payment_id
    assert created.status is PaymentStatus.REQUIRES_PAYMENT_METHOD and created.client_secret
    assert fake.intents[pi]["automatic_payment_methods"]["enabled"] is True
    declined = await gateway.confirm(_confirm(payment_id, pi, "pm_card_chargeDeclined", 1))
    assert (declined.status, declined.failure_code) == (PaymentStatus.FAILED, "card_declined")
    assert fake.intents[pi]["status"] == "requires_payment_method"
    paid = await gateway.confirm(_confirm(payment_id, pi, "pm_card_visa", 2))
    assert (paid.status, paid.amount_captured, paid.card_last4) == (
        PaymentStatus.SUCCEEDED,
        900,
        "4242",
    )


async def test_cancel_voids_a_hold_with_stripes_reason(gateway, fake):
    """cancellation_reason goes to Stripe; an already canceled intent is PAYMENT_NOT_CANCELABLE."""
    payment_id, pi = await _authorized(gateway)
    request = CancelRequest(payment_id, pi, CancellationReason.REQUESTED_BY_CUSTOMER, "c-1")
    canceled = await gateway.cancel(request)
    assert (canceled.status, canceled.cancellation_reason) == (
        PaymentStatus.CANCELED,
        CancellationReason.REQUESTED_BY_CUSTOMER,
    )
    assert canceled.canceled_at is not None
    assert fake.intents[pi]["cancellation_reason"] == "requested_by_customer"
    with pytest.raises(PaymentNotCancelable):
        await gateway.cancel(CancelRequest(payment_id, pi, None, "c-2"))


def _confirm(payment_id: str, pi: str, method: str, attempt: int) -> ConfirmRequest:
    return ConfirmRequest(
        payment_id,
        pi,
        method,
        "https://shop.example/return",
        900,
        "EUR",
        CaptureMethod.AUTOMATIC,
        f"confirm-{payment_id}-{attempt}",
    )
