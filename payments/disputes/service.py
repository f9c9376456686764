"""Disputes as providers report them: applied to their payments, or kept until one matches."""

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.dispute import Dispute
from models.enums import EventSource
from models.payment import Payment
from payments.disputes import repository
from payments.disputes.rules import (
    as_report,
    changed_columns,
    is_news,
    new_columns,
    snapshot,
)
from payments.gateways.base import DisputeReported
from payments.lifecycle.repository import announce_beside_status
from payments.lifecycle.transitions import lock_payment
from payments.outbox.events import EventAbout
from payments.shared import metrics
from payments.shared.input_rules import could_be_id

log = structlog.get_logger(__name__)

_UNMATCHED_BATCH = 100


async def apply_report(
    payment: Payment,
    provider: str,
    report: DisputeReported,
    connection: BaseDBAsyncClient,
    source: EventSource,
    provider_event_id: str | None = None,
) -> Dispute:
    """Apply a provider's report to the dispute of a locked payment, creating it if new.

    A report that changes something consumers see makes a new payment version with the
    event `dispute.created|updated|closed`; a stale or repeated report changes nothing.
    """
    stored = await repository.find_locked(provider, report.provider_dispute_id, connection)
    if stored is None:
        dispute = await repository.create(
            connection,
            payment_id=payment.id,
            provider=provider,
            provider_payment_id=payment.provider_payment_id,
            **new_columns(report),
        )
        # First seen closed (its earlier reports lost or late): the news is that it closed.
        change = "created" if dispute.is_open else "closed"
        await _announce(payment, dispute, change, connection, source, provider_event_id)
        return dispute
    was_open, adopted = stored.is_open, stored.payment_id is None
    changes = changed_columns(stored, report)
    news = adopted or is_news(changes)
    if adopted:
        changes["payment_id"] = payment.id
    if changes:
        await repository.update(stored, changes, connection)
    if news:
        closed = (adopted or was_open) and not stored.is_open
        change = "closed" if closed else "created" if adopted else "updated"
        await _announce(payment, stored, change, connection, source, provider_event_id)
    return stored


async def keep_unmatched(
    provider: str,
    provider_payment_id: str | None,
    report: DisputeReported,
    connection: BaseDBAsyncClient,
) -> None:
    """Keep a dispute of a payment we do not know (yet); the reconciler reports it.

    Later reports of it converge on the row as for any dispute; a payment that turns up
    adopts it (the reconciler's `adopt_unmatched`).
    """
    stored = await repository.find_locked(provider, report.provider_dispute_id, connection)
    if stored is None:
        created = await repository.create_once(
            connection,
            payment_id=None,
            provider=provider,
            provider_payment_id=provider_payment_id,
            **new_columns(report),
        )
        # None: a concurrent report of it kept it first (committed by now).
        stored = (
            None
            if created
            else await repository.find_locked(provider, report.provider_dispute_id, connection)
        )
    if stored is not None:
        changes = changed_columns(stored, report)
        if changes:
            await repository.update(stored, changes, connection)
    log.warning(
        "dispute_without_payment",
        provider=provider,
        provider_dispute_id=report.provider_dispute_id,
        provider_payment_id=provider_payment_id,
    )


async def adopt_unmatched() -> tuple[int, int]:
    """Attach kept disputes to payments that now match them; (adopted, still unmatched).

    Each one still unmatched is logged, and counted in `payments_disputes_unmatched`.
    """
    adopted = unmatched = 0
    for dispute in await repository.unmatched(_UNMATCHED_BATCH):
        if await _adopt(dispute):
            adopted += 1
            continue
        unmatched += 1
        log.warning(
            "dispute_without_payment",
            dispute_id=dispute.id,
            provider=dispute.provider,
            provider_dispute_id=dispute.provider_dispute_id,
            provider_payment_id=dispute.provider_payment_id,
            amount=dispute.amount,
            currency=dispute.currency,
        )
    metrics.DISPUTES_UNMATCHED.set(unmatched)
    return adopted, unmatched


async def _adopt(dispute: Dispute) -> bool:
    reference = dispute.provider_payment_id
    if reference is None or not could_be_id(reference):
        return False
    found = await Payment.get_or_none(provider_payment_id=reference)
    if found is None:
        return False
    async with in_transaction() as connection:
        payment = await lock_payment(found.id, connection)
        assert payment is not None
        locked = await repository.lock(dispute.id, connection)
        if locked is None or locked.payment_id is not None:
            return False
        await apply_report(
            payment, locked.provider, as_report(locked), connection, EventSource.RECONCILER
        )
    return True


async def _announce(
    payment: Payment,
    dispute: Dispute,
    change: str,
    connection: BaseDBAsyncClient,
    source: EventSource,
    provider_event_id: str | None,
) -> None:
    """The payment follows its disputes: a new version, its history row and event."""
    disputes = await repository.of_payment(payment.id, connection)
    payment.disputed = any(d.is_open for d in disputes)
    # Two disputes of one charge (an inquiry, then a chargeback) dispute the same money.
    payment.amount_disputed = min(payment.amount, sum(d.amount for d in disputes))
    if payment.disputed_at is None:
        payment.disputed_at = dispute.created_at
    about = EventAbout(f"dispute.{change}", {"dispute": snapshot(dispute)})
    await announce_beside_status(payment, about, source, connection, provider_event_id)
    metrics.DISPUTES.labels(change, dispute.currency).inc()
