"""Migrations 0055-0056: one row per provider dispute, and disputes that hold together."""

from datetime import UTC, datetime

import pytest
from tortoise.exceptions import IntegrityError

from models.dispute import Dispute
from models.enums import DisputeStatus
from models.payment import Payment
from tests.support import create_payment
from tests.webhooks.factories import new_id


def _dispute(**fields) -> Dispute:
    values = {
        "provider": "stripe",
        "provider_dispute_id": new_id("dp"),
        "amount": 100,
        "currency": "USD",
        "reason": "general",
        "status": DisputeStatus.NEEDS_RESPONSE,
        "reported_at": datetime.now(UTC),
    }
    return Dispute(**{**values, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"amount": -1},
        {"currency": "usd"},
        {"status": DisputeStatus.WON},  # closed without closed_at
        {"closed_at": datetime.now(UTC)},  # open with closed_at
        {"funds_reinstated": True},  # reinstated what was never withdrawn
    ],
    ids=["negative", "lower-case-currency", "closed-no-time", "open-with-time", "reinstated-only"],
)
async def test_a_dispute_that_does_not_hold_together_is_refused(database_url, fields):
    """Each CHECK of 0056 refuses its case; the row is not written."""
    dispute = _dispute(**fields)
    with pytest.raises(IntegrityError):
        await dispute.save()
    assert await Dispute.filter(provider_dispute_id=dispute.provider_dispute_id).count() == 0


async def test_a_provider_dispute_is_one_row_and_disputed_money_stays_within_the_payment(
    database_url,
):
    """(provider, provider_dispute_id) is unique; amount_disputed never exceeds the amount."""
    first = _dispute()
    await first.save()
    with pytest.raises(IntegrityError):
        await _dispute(provider_dispute_id=first.provider_dispute_id).save()
    await _dispute(provider="paypal", provider_dispute_id=first.provider_dispute_id).save()
    payment = await create_payment(amount=500)
    with pytest.raises(IntegrityError):
        await Payment.filter(id=payment.id).update(amount_disputed=501)
