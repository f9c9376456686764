"""paymentStats through the real HTTP stack: counts, money per currency and status, scoping."""

import random
from datetime import UTC, datetime, timedelta

from models.enums import PaymentStatus
from models.payment import Payment
from payments.shared.auth import ALL_SCOPES
from tests.support import create_payment, error_codes, graphql, new_subject, token

STATS = """query($from: DateTime!, $to: DateTime!, $customerId: String) {
  paymentStats(from: $from, to: $to, customerId: $customerId) {
    count succeededCount failedCount successRate
    byCurrency { currency count amountCaptured amountRefunded net }
    byStatus { status count amount }
  }
}"""


def _quiet_day() -> datetime:
    """A day in the past no other test writes payments on, so admin totals are exact."""
    return datetime(2001, 1, 1, tzinfo=UTC) + timedelta(days=random.randrange(30_000))


async def _payment(customer: str, created: datetime, status: PaymentStatus, **fields) -> Payment:
    payment = await create_payment(customer_id=customer, status=status, **fields)
    await Payment.filter(id=payment.id).update(created_at=created)
    return payment


async def _seed(day: datetime, customer: str) -> None:
    await _payment(customer, day, PaymentStatus.SUCCEEDED, amount=1000)
    await _payment(
        customer, day, PaymentStatus.PARTIALLY_REFUNDED, amount=2000, amount_refunded=500
    )
    await _payment(customer, day, PaymentStatus.FAILED, amount=700)
    await _payment(customer, day, PaymentStatus.PROCESSING, amount=300, currency="EUR")
    await _payment(customer, day + timedelta(days=1), PaymentStatus.SUCCEEDED, amount=9)


async def _stats(http, bearer: str, day: datetime, customer_id: str | None = None) -> dict:
    variables = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    body = await graphql(http, STATS, {**variables, "customerId": customer_id}, bearer=bearer)
    assert "errors" not in body, body
    stats: dict = body["data"]["paymentStats"]
    return stats


async def test_stats_count_money_by_currency_and_status_in_a_half_open_range(http):
    """Three settled of four in range (the next day's is out): rate 2/3, net per currency."""
    day, customer = _quiet_day(), new_subject()
    await _seed(day, customer)
    stats = await _stats(http, token(customer), day)
    assert (stats["count"], stats["succeededCount"], stats["failedCount"]) == (4, 2, 1)
    assert stats["successRate"] == 2 / 3
    assert stats["byCurrency"] == [
        {"currency": "EUR", "count": 1, "amountCaptured": 0, "amountRefunded": 0, "net": 0},
        {"currency": "USD", "count": 3, "amountCaptured": 3000, "amountRefunded": 500, "net": 2500},
    ]
    assert stats["byStatus"] == [
        {"status": "PROCESSING", "count": 1, "amount": 300},
        {"status": "SUCCEEDED", "count": 1, "amount": 1000},
        {"status": "FAILED", "count": 1, "amount": 700},
        {"status": "PARTIALLY_REFUNDED", "count": 1, "amount": 2000},
    ]


async def test_stats_are_owner_scoped_and_admins_choose_a_customer(http):
    """A customer sees only its own; another's customerId reads as none; an admin sees all."""
    day, mine, theirs = _quiet_day(), new_subject(), new_subject()
    await _seed(day, mine)
    await _payment(theirs, day, PaymentStatus.FAILED)
    assert (await _stats(http, token(theirs), day))["count"] == 1
    assert (await _stats(http, token(theirs), day, customer_id=mine))["count"] == 0
    admin = token("stats-admin", ALL_SCOPES)
    assert (await _stats(http, admin, day))["count"] == 5
    assert (await _stats(http, admin, day, customer_id=mine))["count"] == 4


async def test_success_rate_is_null_without_settled_payments(http):
    """No succeeded and no failed payment in range: successRate is null, lists are empty."""
    stats = await _stats(http, token(new_subject()), _quiet_day())
    assert stats == {
        "count": 0,
        "succeededCount": 0,
        "failedCount": 0,
        "successRate": None,
        "byCurrency": [],
        "byStatus": [],
    }


async def test_a_range_that_ends_before_it_starts_is_a_validation_error(http):
    """A range ending before its start is VALIDATION_ERROR; no token is UNAUTHENTICATED."""
    variables = {"from": "2024-02-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"}
    body = await graphql(http, STATS, variables, bearer=token(new_subject()))
    assert error_codes(body) == ["VALIDATION_ERROR"]
    assert error_codes(await graphql(http, STATS, variables)) == ["UNAUTHENTICATED"]


async def test_totals_past_32_bits_are_exact(http):
    """22 payments of 99,999,999 sum past GraphQL's 32-bit Int: the totals are still exact."""
    day, customer = _quiet_day(), new_subject()
    for _ in range(22):
        await _payment(customer, day, PaymentStatus.SUCCEEDED, amount=99_999_999)
    window = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    body = await graphql(
        http, STATS, {**window, "customerId": customer}, bearer=token(new_subject(), ALL_SCOPES)
    )
    assert "errors" not in body, body
    stats = body["data"]["paymentStats"]
    total = 22 * 99_999_999
    assert stats["byCurrency"][0]["amountCaptured"] == stats["byCurrency"][0]["net"] == total
    assert stats["byStatus"] == [{"status": "SUCCEEDED", "count": 22, "amount": total}]


DISPUTE_STATS = """query($from: DateTime!, $to: DateTime!, $customerId: String) {
  paymentStats(from: $from, to: $to, customerId: $customerId) {
    succeededCount disputedCount disputeRate
    byCurrency { currency amountDisputed disputedCount }
  }
}"""


async def test_stats_sum_disputed_amounts_per_currency_and_the_dispute_rate(http):
    """Disputed money per currency, disputed payments, and their share of the succeeded ones."""
    day, customer = _quiet_day(), new_subject()
    await _payment(customer, day, PaymentStatus.SUCCEEDED, amount=1000, amount_disputed=1000)
    await _payment(customer, day, PaymentStatus.SUCCEEDED, amount=2000, amount_disputed=500)
    await _payment(customer, day, PaymentStatus.SUCCEEDED, amount=700)
    await _payment(
        customer, day, PaymentStatus.SUCCEEDED, amount=300, currency="EUR", amount_disputed=300
    )
    variables = {"from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()}
    body = await graphql(http, DISPUTE_STATS, variables, bearer=token(customer))
    stats = body["data"]["paymentStats"]
    assert (stats["succeededCount"], stats["disputedCount"], stats["disputeRate"]) == (4, 3, 0.75)
    assert stats["byCurrency"] == [
        {"currency": "EUR", "amountDisputed": 300, "disputedCount": 1},
        {"currency": "USD", "amountDisputed": 1500, "disputedCount": 2},
    ]
