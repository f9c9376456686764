"""apply_change under the row lock: the move, its history row and its event written as one."""

from tortoise.transactions import in_transaction

from models.enums import EventSource, PaymentStatus, RefundStatus
from models.outbox import OutboxEvent
from models.payment import Payment, PaymentStatusHistory, Refund
from payments.lifecycle.transitions import Change, apply_change, lock_payment
from payments.outbox.versions import version_of
from tests.support import create_payment


async def _apply(payment_id: str, change: Change) -> bool:
    async with in_transaction() as connection:
        payment = await lock_payment(payment_id, connection)
        assert payment is not None
        return await apply_change(payment, change, connection)


async def _history(payment_id: str) -> list[tuple[PaymentStatus | None, PaymentStatus, bool]]:
    rows = await PaymentStatusHistory.filter(payment_id=payment_id).order_by("id")
    return [(row.from_status, row.status, row.applied) for row in rows]


async def test_a_locked_move_writes_the_row_its_history_and_an_event_with_the_refunds(
    database_url,
):
    """An allowed move sets the row's columns, one applied history row and its event's state."""
    payment = await create_payment(status=PaymentStatus.AUTHORIZED, version=2, amount_captured=0)
    refund = await Refund.create(payment=payment, amount=100, status=RefundStatus.PENDING)
    change = Change(
        PaymentStatus.SUCCEEDED, EventSource.WEBHOOK, {"amount_captured": 600}, "evt_capture"
    )
    assert await _apply(payment.id, change)
    stored = await Payment.get(id=payment.id)
    assert (stored.status, stored.version, stored.amount_captured) == (
        PaymentStatus.SUCCEEDED,
        3,
        600,
    )
    assert await _history(payment.id) == [(PaymentStatus.AUTHORIZED, PaymentStatus.SUCCEEDED, True)]
    event = await OutboxEvent.get(payment_id=payment.id)
    state = version_of(event.state)
    assert (event.version, event.type, state.payment.amount_captured) == (
        3,
        "payment.succeeded",
        600,
    )
    assert [(r.id, r.amount) for r in state.refunds or ()] == [(refund.id, 100)]
    # Leave the refund reserved, as a real one is, for the reconciler's sweeps in this database.
    await Payment.filter(id=payment.id).update(amount_refund_pending=refund.amount)


async def test_a_refused_move_writes_only_its_unapplied_history_row(database_url):
    """A move the state machine refuses changes no column and sends no event."""
    payment = await create_payment(status=PaymentStatus.CANCELED, version=4, amount_captured=0)
    change = Change(PaymentStatus.AUTHORIZED, EventSource.WEBHOOK, provider_event_id="evt_late")
    assert not await _apply(payment.id, change)
    stored = await Payment.get(id=payment.id)
    assert (stored.status, stored.version) == (PaymentStatus.CANCELED, 4)
    assert await _history(payment.id) == [(PaymentStatus.CANCELED, PaymentStatus.AUTHORIZED, False)]
    assert not await OutboxEvent.filter(payment_id=payment.id).exists()
