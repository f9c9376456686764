"""The event consumers receive for each payment version, and the channel that announces it."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models.outbox import OutboxEvent
from models.payment import Payment, Refund
from payments.outbox.versions import REFUND_FIELDS, REFUND_ORDER, state_of
from payments.shared.correlation import current_request_id

# PostgreSQL NOTIFY channel on which migration 0004's trigger wakes the relay at commit.
OUTBOX_CHANNEL = "payments_outbox"


@dataclass(frozen=True)
class EventAbout:
    """An event about something beside the payment's status (a dispute): its type and data.

    `data` goes into the event's `data` beside `payment` (e.g. `{"dispute": {...}}`).
    """

    type: str
    data: dict[str, Any]


async def write_outbox_event(
    payment: Payment, connection: BaseDBAsyncClient, about: EventAbout | None = None
) -> OutboxEvent:
    """Write the event consumers receive for the payment as it is now (same transaction).

    Its state keeps the refunds as they are now too: the caller holds the payment's row
    lock, under which every refund is reserved and settled.
    """
    refunds = Refund.filter(payment_id=payment.id).using_db(connection)
    event = outbox_event(payment, await refunds.order_by(*REFUND_ORDER).only(*REFUND_FIELDS), about)
    await event.save(using_db=connection)
    return event


def outbox_event(
    payment: Payment, refunds: Sequence[Refund] | None, about: EventAbout | None = None
) -> OutboxEvent:
    """The (unsaved) event consumers receive for the payment as it is now, with its state.

    None for `refunds` leaves them out of the state, for a statement that adds them.
    Without `about`, the event is the status's (`payment.succeeded`).
    """
    event = OutboxEvent(
        payment_id=payment.id, version=payment.version, request_id=current_request_id()
    )
    event.type = about.type if about else f"payment.{payment.status.value.lower()}"
    event.payload = {
        "id": event.id,
        "type": event.type,
        "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"payment": payment_snapshot(payment), **(about.data if about else {})},
    }
    event.state = state_of(payment, refunds)
    return event


def payment_snapshot(payment: Payment) -> dict[str, Any]:
    """The payment as consumers see it in an event's `data`."""
    return {
        "id": payment.id,
        "orderId": payment.order_id,
        "customerId": payment.customer_id,
        "status": payment.status.value,
        "amount": payment.amount,
        "amountRefunded": payment.amount_refunded,
        "amountCaptured": payment.amount_captured,
        # What a bank transfer brought in so far (its partial fundings are events too);
        # on the other rails what was captured, as GraphQL's amountReceived.
        "amountReceived": payment.money_received,
        "currency": payment.currency,
        "failureCode": payment.failure_code,
        "version": payment.version,
    }
