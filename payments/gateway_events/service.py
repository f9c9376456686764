"""Applies stored gateway events to payments and refunds through the same service transitions."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.enums import EventSource, InboxStatus, PaymentStatus
from models.ids import ID_LENGTH
from models.payment import Payment
from payments.disputes.service import apply_report, keep_unmatched
from payments.gateway_events.inbox import (
    SETTLED,
    finish_event,
    lock_event,
    park_event,
    record_attempt,
)
from payments.gateway_events.inbox import replay_event as reopen_event
from payments.gateways.base import (
    DisputeReported,
    GatewayUpdate,
    PaymentApproved,
    PaymentMoved,
    RefundsReported,
)
from payments.gateways.events import read_event
from payments.intents.approval import capture_approved
from payments.lifecycle.state_machine import CAPTURED, REFUNDABLE, status_after_refunds
from payments.lifecycle.transitions import Change, apply_change, lock_payment
from payments.refunds.gateway_sync import sync_refund
from payments.service_config import ServiceConfig
from payments.shared.correlation import bind_payment_id
from payments.shared.errors import PaymentsError
from payments.shared.input_rules import could_be_id

log = structlog.get_logger(__name__)

_AWAITING_OUTCOME = frozenset(
    {
        PaymentStatus.PENDING,
        PaymentStatus.REQUIRES_PAYMENT_METHOD,
        PaymentStatus.PROCESSING,
        PaymentStatus.REQUIRES_ACTION,
        PaymentStatus.AUTHORIZED,
    }
)


class PaymentNotYetKnown(PaymentsError):
    """No payment matches the event yet (its charge may still be committing): retry later."""

    code = "PAYMENT_NOT_YET_KNOWN"

    def __init__(self, event_id: str, reference: str | None) -> None:
        super().__init__(
            f"No payment matches {reference or 'no reference'} (event {event_id}) yet."
        )
        self.attempts = 0


class EventConflict(PaymentsError):
    """The event contradicts a settled payment (a refund of a FAILED one): an operator decides."""

    code = "GATEWAY_EVENT_CONFLICT"


async def process_stored_event(
    row_id: int, rails: Callable[[], ServiceConfig] | None = None
) -> InboxStatus:
    """Apply one stored event once, in one transaction holding the payment's row lock.

    Returns the event's status (PROCESSED, IGNORED for types we do not handle, FAILED
    for a conflict an operator must look at). Raises PaymentNotYetKnown, with the
    attempts so far, when no payment matches yet; other errors are recorded and re-raised.
    A buyer's approval is captured through the rail `rails()` gives (asked only then),
    after that transaction (no lock is held across the provider's call); then the event
    is settled.
    """
    try:
        async with in_transaction() as connection:
            outcome = await _process_locked(row_id, connection)
        if isinstance(outcome, _Approval):
            return await _capture_approval(row_id, outcome, rails)
        return outcome
    except PaymentNotYetKnown as error:
        error.attempts = await record_attempt(row_id, error.message, InboxStatus.RECEIVED)
        raise
    except EventConflict as error:
        await record_attempt(row_id, error.message, InboxStatus.FAILED)
        log.warning("stripe_event_conflict", row_id=row_id, error=error.message)
        return InboxStatus.FAILED
    except Exception as error:
        await record_attempt(row_id, repr(error), InboxStatus.FAILED)
        raise


async def replay_events(event_ids: Iterable[str]) -> dict[str, InboxStatus]:
    """Re-open stored events and process them now, in this process (the CLI's replay).

    An event whose payment is still unknown is parked again. Raises NotFound for an
    event id that is not stored.
    """
    outcomes: dict[str, InboxStatus] = {}
    for event_id in event_ids:
        row_id = await reopen_event(event_id)
        try:
            outcomes[event_id] = await process_stored_event(row_id)
        except PaymentNotYetKnown:
            await park_event(row_id)
            outcomes[event_id] = InboxStatus.PARKED
    return outcomes


@dataclass(frozen=True)
class _Approval:
    """An approval to capture once the inbox transaction has ended."""

    payment_id: str
    event_id: str


class ApprovalUnhandled(PaymentsError):
    """An approval processed where no rail is wired (a replay from the CLI): the worker's job."""

    code = "APPROVAL_UNHANDLED"


async def _capture_approval(
    row_id: int, approval: _Approval, rails: Callable[[], ServiceConfig] | None
) -> InboxStatus:
    if rails is None:
        raise ApprovalUnhandled(f"Approval {approval.event_id} needs the worker's gateway.")
    await capture_approved(approval.payment_id, rails(), approval.event_id)
    async with in_transaction() as connection:
        row = await lock_event(row_id, connection)
        if row is None or row.status in SETTLED:
            return row.status if row is not None else InboxStatus.IGNORED
        await finish_event(row, InboxStatus.PROCESSED, connection)
    return InboxStatus.PROCESSED


async def _process_locked(row_id: int, connection: BaseDBAsyncClient) -> InboxStatus | _Approval:
    # The inbox row lock comes first, then the payment's: every path takes them in
    # this order, and a redelivered message waits here instead of applying twice.
    row = await lock_event(row_id, connection)
    if row is None:
        # Pruned after it settled; a late duplicate message has nothing left to do.
        return InboxStatus.IGNORED
    if row.status in SETTLED:
        return row.status
    update = read_event(row.provider, row.payload)
    status = InboxStatus.IGNORED
    if isinstance(update.change, PaymentApproved):
        payment = await _locked_payment(update, connection)
        return _Approval(payment.id, update.event_id)
    if isinstance(update.change, DisputeReported):
        await _dispute_reported(update, update.change, row.provider, connection)
        status = InboxStatus.PROCESSED
    elif update.change is not None:
        payment = await _locked_payment(update, connection)
        await _apply(update, update.change, payment, connection)
        status = InboxStatus.PROCESSED
    await finish_event(row, status, connection)
    log.info(
        "stripe_event_processed", event_id=update.event_id, type=update.type, status=status.value
    )
    return status


async def _dispute_reported(
    update: GatewayUpdate, report: DisputeReported, provider: str, connection: BaseDBAsyncClient
) -> None:
    # A dispute comes days after its payment: one we do not know is kept, never retried.
    payment = await _found_payment(update, connection)
    if payment is None:
        await keep_unmatched(provider, _usable_provider_id(update), report, connection)
        return
    await _ensure_captured(update, payment, connection)
    await apply_report(payment, provider, report, connection, EventSource.WEBHOOK, update.event_id)


async def _locked_payment(update: GatewayUpdate, connection: BaseDBAsyncClient) -> Payment:
    """The update's payment, locked; raises PaymentNotYetKnown when none matches yet."""
    payment = await _found_payment(update, connection)
    if payment is None:
        raise PaymentNotYetKnown(update.event_id, _usable_provider_id(update) or update.payment_id)
    return payment


def _usable_provider_id(update: GatewayUpdate) -> str | None:
    # An id no row could hold (NUL, absurd length) is no reference: never sent to the database.
    provider_id = update.provider_payment_id
    return provider_id if provider_id is not None and could_be_id(provider_id) else None


async def _found_payment(update: GatewayUpdate, connection: BaseDBAsyncClient) -> Payment | None:
    """The update's payment, locked, or None; it adopts the provider's id when found by ours."""
    provider_id, our_id = _usable_provider_id(update), update.payment_id
    found = None
    if provider_id is not None:
        found = await Payment.get_or_none(provider_payment_id=provider_id, using_db=connection)
    if found is None and our_id is not None and could_be_id(our_id, ID_LENGTH):
        found = await Payment.get_or_none(id=our_id, using_db=connection)
    payment = await lock_payment(found.id, connection) if found else None
    if payment is None:
        return None
    bind_payment_id(payment.id)
    if payment.provider_payment_id is None and provider_id is not None:
        payment.provider_payment_id = provider_id
        await payment.save(using_db=connection, update_fields=["provider_payment_id", "updated_at"])
    return payment


async def _apply(
    update: GatewayUpdate,
    change: PaymentMoved | RefundsReported,
    payment: Payment,
    connection: BaseDBAsyncClient,
) -> None:
    if isinstance(change, PaymentMoved):
        await _payment_moved(update, change, payment, connection)
        return
    await _ensure_captured(update, payment, connection)
    await _refunds_reported(update, change, payment, connection)


async def _payment_moved(
    update: GatewayUpdate, moved: PaymentMoved, payment: Payment, connection: BaseDBAsyncClient
) -> None:
    fields = dict(moved.fields)
    target = moved.status
    if target is PaymentStatus.SUCCEEDED:
        target = _captured_status(payment, fields)
    change = Change(target, EventSource.WEBHOOK, fields, update.event_id, update.occurred_at)
    await apply_change(payment, change, connection)


def _captured_status(payment: Payment, fields: dict[str, Any]) -> PaymentStatus:
    """SUCCEEDED, or for a payment a refund event already proved captured, its own status.

    A refund can overtake its payment's capture event; that refund's arrival assumed the
    whole amount was captured. The capture event then corrects the captured amount.
    """
    if payment.status not in CAPTURED or "amount_captured" not in fields:
        return PaymentStatus.SUCCEEDED
    if payment.amount_refunded == 0:
        return payment.status
    return status_after_refunds(fields["amount_captured"], payment.amount_refunded)


async def _refunds_reported(
    update: GatewayUpdate,
    reported: RefundsReported,
    payment: Payment,
    connection: BaseDBAsyncClient,
) -> None:
    for refund in reported.refunds:
        await sync_refund(payment.id, refund, connection)
    if reported.amount_refunded is None:
        return
    # A total beyond the listed refunds: the provider's refund events carry the rest,
    # because a bare total cannot say which refunds it already counts.
    refunded = (await Payment.get(id=payment.id, using_db=connection)).amount_refunded
    if reported.amount_refunded > refunded:
        log.warning("stripe_refunds_unlisted", event_id=update.event_id, payment_id=payment.id)


async def _ensure_captured(
    update: GatewayUpdate, payment: Payment, connection: BaseDBAsyncClient
) -> None:
    # Stripe refunds and disputes only captured charges, so one that overtakes the
    # payment's own success event proves that success: apply it first, as that event would.
    if payment.status in _AWAITING_OUTCOME:
        change = Change(
            PaymentStatus.SUCCEEDED, EventSource.WEBHOOK, provider_event_id=update.event_id
        )
        await apply_change(payment, change, connection)
    elif payment.status not in REFUNDABLE and payment.status is not PaymentStatus.REFUNDED:
        raise EventConflict(f"{update.type} for a {payment.status.value} payment {payment.id}.")
