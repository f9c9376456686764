"""A page read with its children answers as the children's own queries do, in fewer trips."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise import connections

from models.enums import EventSource, PaymentStatus, RefundReason, RefundStatus
from models.payment import Payment, PaymentStatusHistory, Refund
from payments.reads import service as reads
from payments.shared.auth import Principal, Scope
from tests.support import create_payment, new_subject


async def _payments_with_children(customer: str) -> tuple[list[Payment], Payment]:
    """Three payments as a page lists them (newest id first), and the one with refunds.

    That one has refunds and history of every kind; another has a skipped change. Ids made
    in the same millisecond are ordered by their random part, not by creation.
    """
    rich, skipped, bare = [await create_payment(customer_id=customer) for _ in range(3)]
    at = datetime(2026, 12, 7, 7, 0, 0, 123456, tzinfo=UTC)
    await Refund.create(
        payment=rich,
        amount=100,
        status=RefundStatus.SUCCEEDED,
        reason=RefundReason.DUPLICATE,
        provider_refund_id=f"re_{new_subject()}",
    )
    await Refund.create(
        payment=rich, amount=50, status=RefundStatus.FAILED, failure_reason="expired \u00e9"
    )
    for version, status in enumerate(
        [PaymentStatus.PENDING, PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED], 1
    ):
        await PaymentStatusHistory.create(
            payment=rich,
            status=status,
            source=EventSource.WEBHOOK if version == 2 else EventSource.API,
            version=version,
            occurred_at=at + timedelta(seconds=version),
        )
    await PaymentStatusHistory.create(
        payment=skipped,
        status=PaymentStatus.FAILED,
        source=EventSource.API,
        version=2,
        applied=False,
    )
    return sorted([rich, skipped, bare], key=lambda payment: payment.id, reverse=True), rich


def _statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the default connection runs from now on."""
    sent: list[str] = []
    db = connections.get("default")
    execute = type(db).execute_query

    async def counted(self: Any, sql: str, values: Any = None) -> Any:
        sent.append(sql)
        return await execute(self, sql, values)

    monkeypatch.setattr(type(db), "execute_query", counted)
    return sent


async def test_a_pages_children_are_those_their_own_queries_read(database, monkeypatch):
    """On PostgreSQL in one statement, on SQLite in three; the same payments, refunds, history."""
    customer = new_subject()
    created, rich = await _payments_with_children(customer)
    principal = Principal(customer, frozenset({Scope.READ}))
    sent = _statements(monkeypatch)
    page = await reads.list_payments(
        principal, 20, None, reads.PaymentFilter(), with_refunds=True, with_history=True
    )
    assert len(sent) == (1 if database.startswith("postgres") else 3)
    ids = [payment.id for payment in created]
    assert [payment.id for payment in page.payments] == ids
    expected_refunds = await reads.refunds_by_payment(ids)
    assert page.refunds is not None and page.history is not None
    assert [[vars(r) for r in each] for each in page.refunds] == [
        [vars(r) for r in each] for each in expected_refunds
    ]
    assert [[type(v) for r in each for v in vars(r).values()] for each in page.refunds] == [
        [type(v) for r in each for v in vars(r).values()] for each in expected_refunds
    ]
    assert page.history == await reads.history_by_payment(ids)
    at_rich = ids.index(rich.id)
    assert [len(each) for each in page.refunds] == [2 if i == at_rich else 0 for i in range(3)]
    assert [[change.version for change in each] for each in page.history] == [
        [1, 2, 3] if i == at_rich else [] for i in range(3)
    ]
    assert page.history[at_rich][1].source is EventSource.WEBHOOK


async def test_a_page_reads_only_the_children_asked_for(database_url, monkeypatch):
    customer = new_subject()
    created, rich = await _payments_with_children(customer)
    principal = Principal(customer, frozenset({Scope.READ}))
    sent = _statements(monkeypatch)
    page = await reads.list_payments(principal, 2, None, reads.PaymentFilter())
    assert (page.refunds, page.history, page.has_next_page) == (None, None, True)
    assert len(sent) == 1 and "refunds" not in sent[0]
    page = await reads.list_payments(principal, 20, None, reads.PaymentFilter(), with_history=True)
    assert page.refunds is None and [len(each) for each in page.history or []] == [
        3 if payment.id == rich.id else 0 for payment in created
    ]
    assert "refunds" not in sent[1] and "payment_status_history" in sent[1]
