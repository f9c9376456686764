"""Disputes: provider reports applied to payments, evidence and acceptance, and the admin reads."""

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.dispute import Dispute
from models.enums import DisputeStatus, EventSource, Operation
from models.idempotency import IdempotencyKey
from models.ids import ID_LENGTH
from models.payment import Payment
from payments.disputes import repository
from payments.disputes.rules import (
    EvidenceInput,
    as_report,
    changed_columns,
    is_news,
    new_columns,
    snapshot,
)
from payments.gateways.base import DisputeGateway, DisputeReported
from payments.idempotency.keyed_call import KeyClaim, KeyedCall, run_keyed, status_metric
from payments.idempotency.keys import check_key, complete_key, fingerprint, reserve_for_key
from payments.lifecycle.transitions import announce_beside_status, lock_payment
from payments.outbox.events import EventAbout
from payments.service_config import ServiceConfig
from payments.shared import metrics
from payments.shared.auth import Principal, Scope
from payments.shared.correlation import bind_payment_id
from payments.shared.errors import DisputeNotOpen, NotFound, PaymentsError, ValidationFailed
from payments.shared.input_rules import could_be_id

log = structlog.get_logger(__name__)

MAX_PAGE_SIZE = 100
_UNMATCHED_BATCH = 100


@dataclass(frozen=True)
class DisputePage:
    disputes: list[Dispute]
    has_next_page: bool


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


async def submit_evidence(
    principal: Principal, evidence_input: EvidenceInput, idempotency_key: str, config: ServiceConfig
) -> tuple[Dispute, Payment]:
    """Send evidence for an open dispute to its provider once per key (`submit` finalises).

    Raises NotFound, DisputeNotOpen or ValidationFailed (evidence the provider does not
    take: nothing is sent), stored on the key and replayed; the key's errors; or
    GatewayUnavailable (retry with the same key: the same provider key is sent again).
    """
    request = {
        "dispute_id": evidence_input.dispute_id,
        "evidence": evidence_input.evidence,
        "submit": evidence_input.submit,
    }

    def check(gateway: DisputeGateway) -> None:
        gateway.evidence_fields(evidence_input.evidence)

    async def call(held: _Held) -> DisputeReported:
        return await held.gateway.submit_evidence(
            as_report(held.dispute),
            held.gateway.evidence_fields(evidence_input.evidence),
            evidence_input.submit,
            # Ours and one per key: a retry after a crash sends the provider the same key.
            f"dispute-evidence-{held.dispute.id}-{held.key_id}",
        )

    answer = _Answer(Operation.SUBMIT_DISPUTE_EVIDENCE, evidence_input.dispute_id, check, call)
    return await _answer_once(principal, answer, request, idempotency_key, config)


async def accept(
    principal: Principal, dispute_id: str, idempotency_key: str, config: ServiceConfig
) -> tuple[Dispute, Payment]:
    """Concede an open dispute at its provider once per key; it closes as lost.

    Raises NotFound or DisputeNotOpen (stored on the key and replayed), the key's
    errors, or GatewayUnavailable (retry with the same key).
    """

    async def call(held: _Held) -> DisputeReported:
        # A dispute is closed once: its id is the provider key.
        return await held.gateway.accept(
            as_report(held.dispute), f"dispute-accept-{held.dispute.id}"
        )

    answer = _Answer(Operation.ACCEPT_DISPUTE, dispute_id, lambda gateway: None, call)
    return await _answer_once(
        principal, answer, {"dispute_id": dispute_id}, idempotency_key, config
    )


@dataclass(frozen=True)
class _Held:
    """The dispute a key answers, the provider's dispute API, and the key (its provider key)."""

    dispute: Dispute
    gateway: DisputeGateway
    key_id: int


@dataclass(frozen=True)
class _Answer:
    """One way of answering a dispute: what it checks before, and how it asks the provider."""

    operation: Operation
    dispute_id: str
    check: Callable[[DisputeGateway], None]
    call: Callable[[_Held], Awaitable[DisputeReported]]


async def _answer_once(
    principal: Principal,
    answer: _Answer,
    request: dict[str, object],
    idempotency_key: str,
    config: ServiceConfig,
) -> tuple[Dispute, Payment]:
    principal.require(Scope.WRITE, Scope.ADMIN)
    check_key(idempotency_key)
    claim = KeyClaim(
        principal.sub, answer.operation, idempotency_key, fingerprint(request), config.keys
    )

    async def hold(key: IdempotencyKey) -> _Held:
        if key.resource_id is not None:  # a crashed request's: resumed, its checks were made
            dispute = await repository.get(key.resource_id)
            assert dispute is not None
        else:
            dispute = await reserve_for_key(
                key,
                lambda connection: _checked(answer, connection, config),
                lambda checked: checked.id,
                (PaymentsError,),
            )
        return _Held(dispute, await _gateway_of(dispute, config), key.id)

    steps: KeyedCall[_Held, DisputeReported, tuple[Dispute, Payment]] = KeyedCall(
        replay=_replay,
        hold=hold,
        call=answer.call,
        commit=_commit,
        refusals=(DisputeNotOpen,),
        metric=status_metric(config.gateway.name, answer.operation.value),
    )
    return await run_keyed(claim, steps)


async def _checked(
    answer: _Answer, connection: BaseDBAsyncClient, config: ServiceConfig
) -> Dispute:
    dispute = (
        await repository.lock(answer.dispute_id, connection)
        if could_be_id(answer.dispute_id, ID_LENGTH)
        else None
    )
    if dispute is None or dispute.payment_id is None:
        raise NotFound("Dispute", field="disputeId")
    bind_payment_id(dispute.payment_id)
    if not dispute.is_open:
        raise DisputeNotOpen()
    answer.check(await _gateway_of(dispute, config))
    return dispute


async def _gateway_of(dispute: Dispute, config: ServiceConfig) -> DisputeGateway:
    payment = await Payment.get(id=dispute.payment_id)
    return config.gateway_for(payment.payment_method_type).disputes


async def _replay(key: IdempotencyKey) -> tuple[Dispute, Payment]:
    dispute = await repository.get(str(key.resource_id))
    assert dispute is not None
    return dispute, await Payment.get(id=dispute.payment_id)


async def _commit(
    key: IdempotencyKey, held: _Held, answered: DisputeReported | None
) -> tuple[Dispute, Payment]:
    """Apply the provider's answer as any report of the dispute, and complete the key."""
    async with in_transaction() as connection:
        payment = await lock_payment(str(held.dispute.payment_id), connection)
        assert payment is not None
        dispute = held.dispute
        if answered is not None:
            dispute = await apply_report(
                payment, dispute.provider, answered, connection, EventSource.API
            )
        await complete_key(key, connection, resource_id=dispute.id)
    return dispute, payment


async def get_dispute(principal: Principal, dispute_id: str) -> Dispute | None:
    """The dispute if its payment is visible to the principal; otherwise None."""
    principal.require(Scope.READ)
    if not could_be_id(dispute_id, ID_LENGTH):
        return None
    dispute = await repository.get(dispute_id)
    if dispute is None or dispute.payment_id is None:
        return (principal.is_admin and dispute) or None
    payment = await Payment.get(id=dispute.payment_id)
    return dispute if principal.may_see(payment.customer_id) else None


async def list_disputes(
    principal: Principal, first: int, after: str | None, statuses: Sequence[DisputeStatus]
) -> DisputePage:
    """A page of every dispute (admins only), newest first, with keyset pagination."""
    principal.require(Scope.READ, Scope.ADMIN)
    if not 0 < first <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"first must be between 1 and {MAX_PAGE_SIZE}.", field="first")
    before = decode_cursor(after) if after else None
    rows = await repository.page(statuses, before, first + 1)
    return DisputePage(disputes=rows[:first], has_next_page=len(rows) > first)


async def disputes_by_payment(payment_ids: Sequence[str]) -> list[list[Dispute]]:
    """Disputes of many payments (already visible to the caller), in one query."""
    return await repository.by_payments(payment_ids)


def encode_cursor(dispute_id: str) -> str:
    return base64.urlsafe_b64encode(f"dispute:{dispute_id}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    """The dispute id inside an opaque cursor; ValidationFailed when it is not one of ours."""
    try:
        kind, _, dispute_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        kind, dispute_id = "", ""
    if kind != "dispute" or not could_be_id(dispute_id, ID_LENGTH):
        raise ValidationFailed("Invalid pagination cursor.", field="after")
    return dispute_id


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
