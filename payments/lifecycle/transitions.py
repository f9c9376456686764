"""Decides a status change and applies it: version, history row and outbox event, in one write."""

import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient

from models.enums import EventSource, PaymentStatus
from models.payment import Payment
from payments.lifecycle.amounts import implied_fields
from payments.lifecycle.repository import KeyColumns, record_ignored, write_move
from payments.lifecycle.state_machine import (
    REOPENABLE,
    can_move,
    captures_after_terminal,
    target_for,
)
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

    An allowed move bumps `version`, writes a history row and one outbox event. It writes
    only the columns the move sets: a caller's other changes to `payment` go in the
    change's fields or their own save. A move the payment is already past, a stale event
    or a repeat that changes nothing is recorded (history row, not applied) and ignored.
    """
    target, updates = _planned(payment, change)
    if not _applies(payment, target, change, updates):
        await record_ignored(
            payment,
            target,
            connection,
            source=change.source,
            provider_event_id=change.provider_event_id,
        )
        if captures_after_terminal(payment.status, target):
            _alert_captured_after_terminal(payment, change)
        return False
    written = await _move(copy.copy(payment), payment, (target, updates), change, connection)
    assert written  # the row is locked: nothing moved it since it was read
    return True


async def move_if_unchanged(
    payment: Payment, change: Change, connection: BaseDBAsyncClient, key: KeyColumns | None = None
) -> Payment | None:
    """Apply `change` to a payment read without a lock, if its row is still as read.

    Returns the moved payment: status, version and fields set, its history row, outbox
    event and the key's update made by one statement (in the caller's transaction, if
    any). Returns None, having written nothing, when the row moved since it was read (a
    webhook got there first), when the move is not a plain allowed one, or on SQLite (no
    data-modifying WITH, so no fence without the lock); the caller then locks the row and
    lets `apply_change` decide anew.
    """
    if connection.capabilities.dialect != "postgres":
        return None
    target, updates = _planned(payment, change)
    if not _applies(payment, target, change, updates):
        return None
    moved = copy.copy(payment)
    written = await _move(payment, moved, (target, updates), change, connection, key)
    return moved if written else None


async def _move(
    read: Payment,
    moved: Payment,
    plan: tuple[PaymentStatus, dict[str, Any]],
    change: Change,
    connection: BaseDBAsyncClient,
    key: KeyColumns | None = None,
) -> bool:
    """Make the planned move on `moved` and write it over the row while it is as `read`."""
    columns = _make_move(moved, *plan, change)
    return await write_move(
        read,
        moved,
        columns,
        connection,
        source=change.source,
        provider_event_id=change.provider_event_id,
        key=key,
    )


def _planned(payment: Payment, change: Change) -> tuple[PaymentStatus, dict[str, Any]]:
    """The status `change` moves the payment to and the fields that move sets."""
    target = target_for(payment.flow, change.target, payment.payment_method_type)
    return target, {**implied_fields(payment, target), **change.fields}


def _applies(
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


def _make_move(
    payment: Payment, target: PaymentStatus, updates: dict[str, Any], change: Change
) -> tuple[str, ...]:
    """Set on `payment` what an allowed move writes: its fields, event time, status, version.

    Returns the names of the columns it set.
    """
    for name, value in updates.items():
        setattr(payment, name, value)
    if change.occurred_at is not None:
        payment.gateway_event_at = change.occurred_at
    payment.status = target
    payment.version += 1
    return tuple(dict.fromkeys((*updates, "status", "version", "gateway_event_at")))


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
