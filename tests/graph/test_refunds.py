"""refundPayment: partial and full refunds, limits, refundable states, and concurrency."""

import asyncio
import uuid

import pytest

from models.enums import RefundStatus
from models.outbox import OutboxEvent
from models.payment import Refund
from tests.graph.charging import charge, refund
from tests.support import new_subject


async def _paid(http, sub: str, amount: int = 10_000) -> dict:
    payload = await charge(http, sub, amount=amount)
    assert payload["payment"]["status"] == "SUCCEEDED"
    return payload["payment"]


async def test_partial_then_full_refund(http):
    """Two partial refunds move SUCCEEDED -> PARTIALLY_REFUNDED -> REFUNDED, one event each."""
    sub = new_subject()
    payment = await _paid(http, sub)
    first = await refund(http, sub, payment["id"], amount=3000, reason="REQUESTED_BY_CUSTOMER")
    assert first["refund"] == {
        "id": first["refund"]["id"],
        "amount": 3000,
        "status": "SUCCEEDED",
        "reason": "REQUESTED_BY_CUSTOMER",
    }
    assert (
        first["payment"]["status"],
        first["payment"]["amountRefunded"],
        first["payment"]["amountRefundable"],
    ) == ("PARTIALLY_REFUNDED", 3000, 7000)
    second = await refund(http, sub, payment["id"], amount=2000)
    rest = await refund(http, sub, payment["id"])
    assert rest["refund"]["amount"] == 5000
    assert (
        rest["payment"]["status"],
        rest["payment"]["amountRefunded"],
        rest["payment"]["amountRefundable"],
    ) == ("REFUNDED", 10_000, 0)
    assert second["payment"]["version"] == first["payment"]["version"] + 1
    events = await OutboxEvent.filter(payment_id=payment["id"]).order_by("version")
    assert [e.type for e in events] == [
        "payment.succeeded",
        "payment.partially_refunded",
        "payment.partially_refunded",
        "payment.refunded",
    ]


async def test_refund_over_the_available_amount_is_rejected_not_clamped(http):
    """Asking for more than is refundable is REFUND_EXCEEDS_AVAILABLE and nothing moves."""
    sub = new_subject()
    payment = await _paid(http, sub, amount=5000)
    await refund(http, sub, payment["id"], amount=4000)
    over = await refund(http, sub, payment["id"], amount=1001)
    assert [(e["code"], e["field"]) for e in over["errors"]] == [
        ("REFUND_EXCEEDS_AVAILABLE", "amount")
    ]
    assert over["refund"] is None
    assert await Refund.filter(payment_id=payment["id"]).count() == 1


@pytest.mark.parametrize(
    "method", ["pm_card_chargeDeclined", "pm_card_authenticationRequired", "pm_sim_processing"]
)
async def test_only_captured_payments_are_refundable(http, method):
    """FAILED, REQUIRES_ACTION and PROCESSING payments are PAYMENT_NOT_REFUNDABLE."""
    sub = new_subject()
    payment = (await charge(http, sub, paymentMethodId=method))["payment"]
    result = await refund(http, sub, payment["id"], amount=100)
    assert [e["code"] for e in result["errors"]] == ["PAYMENT_NOT_REFUNDABLE"]


async def test_refund_of_someone_elses_payment_is_not_found(http):
    """A customer cannot refund (or learn of) another customer's payment."""
    payment = await _paid(http, new_subject())
    result = await refund(http, new_subject(), payment["id"], amount=100)
    assert [e["code"] for e in result["errors"]] == ["NOT_FOUND"]


async def test_refund_error_outcome_is_replayed_for_the_same_key(http):
    """A key whose refund was rejected replays the same error even after money became available."""
    sub, key = new_subject(), uuid.uuid4().hex
    payment = await _paid(http, sub, amount=1000)
    first = await refund(http, sub, payment["id"], key=key, amount=2000)
    again = await refund(http, sub, payment["id"], key=key, amount=2000)
    assert (
        [e["code"] for e in first["errors"]]
        == [e["code"] for e in again["errors"]]
        == ["REFUND_EXCEEDS_AVAILABLE"]
    )


@pytest.mark.parametrize("amount", [0, -1])
async def test_refund_amount_must_be_positive(http, amount):
    """A zero or negative refund is INVALID_AMOUNT."""
    sub = new_subject()
    payment = await _paid(http, sub)
    result = await refund(http, sub, payment["id"], amount=amount)
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_AMOUNT", "amount")]


async def test_twenty_concurrent_refunds_never_exceed_the_payment(http):
    """20 refunds of 1,000 on a 10,000 payment, each sent twice at once: exactly 10 succeed."""
    sub = new_subject()
    payment = await _paid(http, sub)
    keys = [uuid.uuid4().hex for _ in range(20)]
    calls = [
        refund(http, sub, payment["id"], key=key, amount=1000) for key in keys for _ in range(2)
    ]
    results = await asyncio.gather(*calls)
    succeeded = {r["refund"]["id"] for r in results if r["refund"]}
    codes = {e["code"] for r in results for e in r["errors"]}
    assert len(succeeded) == 10
    # Once fully refunded, later attempts read PAYMENT_NOT_REFUNDABLE (Stripe: already refunded).
    assert codes <= {"REFUND_EXCEEDS_AVAILABLE", "PAYMENT_NOT_REFUNDABLE", "IDEMPOTENCY_KEY_IN_USE"}
    rows = await Refund.filter(payment_id=payment["id"])
    assert len(rows) == 10
    assert all(row.status is RefundStatus.SUCCEEDED for row in rows)
    assert sum(row.amount for row in rows) == 10_000
    final = await refund(http, sub, payment["id"], amount=1)
    assert [e["code"] for e in final["errors"]] == ["PAYMENT_NOT_REFUNDABLE"]


def test_payment_ids_that_look_like_card_numbers_pass_validation():
    """Our random hex ids may hold a Luhn-valid digit run; refund validation must accept them."""
    from payments.refunds.rules import RefundInput, validate_refund

    validate_refund(RefundInput(payment_id="pay_4242424242424242aaaaaaaaaaaa", amount=100))
