"""submitDisputeEvidence and acceptDispute: keyed calls to the dispute's provider."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.dispute import Dispute
from models.enums import EventSource, Operation
from models.idempotency import IdempotencyKey
from models.ids import ID_LENGTH
from models.payment import Payment
from payments.disputes import repository
from payments.disputes.rules import (
    EvidenceInput,
    as_report,
)
from payments.disputes.service import apply_report
from payments.gateways.base import DisputeGateway, DisputeReported
from payments.idempotency.keyed_call import KeyClaim, KeyedCall, run_keyed, status_metric
from payments.idempotency.keys import check_key, complete_key, fingerprint, reserve_for_key
from payments.lifecycle.transitions import lock_payment
from payments.service_config import ServiceConfig
from payments.shared.auth import Principal, Scope
from payments.shared.correlation import bind_payment_id
from payments.shared.errors import DisputeNotOpen, NotFound, PaymentsError
from payments.shared.input_rules import could_be_id


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
