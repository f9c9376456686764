"""Applies a status change: version, history row and outbox event in the caller's transaction."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient

from models.enums import EventSource, PaymentStatus
from models.payment import Payment, PaymentStatusHistory
from payments.lifecycle.amounts import implied_fields
from payments.lifecycle.state_machine import (
    REOPENABLE,
    can_move,
    captures_after_terminal,
    target_for,
)
from payments.outbox.events import write_outbox_event
from payments.shared import metrics
from payments.shared.rows import select_one

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Change:
    """A requested move of a payment, with the fields the gateway reported alongside it."""

    target: PaymentStatus
    source: EventSource
    fields: dict[str, Any] = field(default_factory=dict)
    provider_event_id: str | None = None
    # When the gateway says it happened (a webhook's `created`); None for our own calls.
    occurred_at: datetime | None = None


async def lock_payment(payment_id: str, connection: BaseDBAsyncClient) -> Payment | None:
    """Load a payment with a row lock held until the transaction ends."""
    return await select_one(Payment, connection, for_update=True, id=payment_id)


async def apply_change(payment: Payment, change: Change, connection: BaseDBAsyncClient) -> bool:
    """Apply `change` to a locked payment if the state machine allows it.

    An allowed move bumps `version`, writes a history row and one outbox event. A
    move the payment is already past, a stale event or a repeat that changes nothing
    is recorded (history row, not applied) and ignored.
    """
    target, updates = planned(payment, change)
    if not applies(payment, target, change, updates):
        await _record(payment, target, change, connection, applied=False)
        if captures_after_terminal(payment.status, target):
            _alert_captured_after_terminal(payment, change)
        return False
    previous = payment.status
    make_move(payment, target, change, updates)
    await payment.save(using_db=connection)
    await _record(payment, target, change, connection, applied=True, previous=previous)
    await write_outbox_event(payment, connection)
    metrics.PAYMENTS.labels(target.value, payment.currency).inc()
    return True


def planned(payment: Payment, change: Change) -> tuple[PaymentStatus, dict[str, Any]]:
    """The status `change` moves the payment to and the fields that move sets."""
    target = target_for(payment.flow, change.target)
    return target, {**implied_fields(payment, target), **change.fields}


def applies(
    payment: Payment, target: PaymentStatus, change: Change, updates: dict[str, Any]
) -> bool:
    """Whether the state machine lets `payment`, as it is, make this move."""
    if not can_move(payment.status, target):
        return False
    if target is payment.status and all(getattr(payment, k) == v for k, v in updates.items()):
        return False  # a duplicate report of the state the payment is in
    if updates.get("amount_received", payment.amount_received) < payment.amount_received:
        return False  # money received never goes back: an older report of a transfer
    last, occurred = payment.gateway_event_at, change.occurred_at
    # Only a newer event may move a payment back into an open state (a retry by the customer).
    return not (target in REOPENABLE and last and occurred and occurred < last)


def make_move(
    payment: Payment, target: PaymentStatus, change: Change, updates: dict[str, Any]
) -> None:
    """Set on `payment` what an allowed move writes: its fields, event time, status, version.

    Shared by the locked path here and the one-statement path (lifecycle/repository.py),
    which differ only in the statement that writes the result.
    """
    for name, value in updates.items():
        setattr(payment, name, value)
    if change.occurred_at is not None:
        payment.gateway_event_at = change.occurred_at
    payment.status = target
    payment.version += 1


def _alert_captured_after_terminal(payment: Payment, change: Change) -> None:
    # Stripe lets a failed PaymentIntent be confirmed again with another method: money
    # was taken while our books say it was not. Absorbed (DESIGN), but never silently.
    metrics.GATEWAY_CONFLICTS.labels(payment.status.value, change.target.value).inc()
    log.error(
        "payment_captured_after_terminal_status",
        payment_id=payment.id,
        status=payment.status.value,
        reported=change.target.value,
        source=change.source.value,
        provider_event_id=change.provider_event_id,
    )


async def _record(
    payment: Payment,
    target: PaymentStatus,
    change: Change,
    connection: BaseDBAsyncClient,
    *,
    applied: bool,
    previous: PaymentStatus | None = None,
) -> None:
    await PaymentStatusHistory.create(
        payment_id=payment.id,
        from_status=previous if applied else payment.status,
        status=target,
        source=change.source,
        version=payment.version,
        provider_event_id=change.provider_event_id,
        applied=applied,
        using_db=connection,
    )


async def record_creation(payment: Payment, connection: BaseDBAsyncClient) -> None:
    """The first history row of a payment (PENDING, version 1); no event goes out for it."""
    await PaymentStatusHistory.create(
        payment_id=payment.id,
        status=payment.status,
        source=EventSource.API,
        version=payment.version,
        using_db=connection,
    )
