"""submitDisputeEvidence and acceptDispute: parse input, call the dispute service, shape it."""

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.scalars import JSON

from graph.context import Info
from graph.disputes.types import Dispute
from graph.payload import PaymentError, payload_errors
from graph.payments.types import Payment
from models import dispute as stored_dispute
from models import payment as stored_payment
from payments.disputes import answers as disputes
from payments.disputes.rules import EvidenceInput
from payments.service_config import ServiceConfig
from payments.shared.auth import Principal
from payments.shared.errors import PaymentsError


@strawberry.input
class SubmitDisputeEvidenceInput:
    dispute_id: strawberry.ID
    evidence: JSON
    submit: bool = True


@strawberry.input
class AcceptDisputeInput:
    dispute_id: strawberry.ID


@strawberry.type
class DisputePayload:
    dispute: Dispute | None = None
    payment: Payment | None = None
    errors: list[PaymentError] = strawberry.field(default_factory=list)


Answered = tuple[stored_dispute.Dispute, stored_payment.Payment]


async def _answer(
    info: Info, service: Callable[[Principal, ServiceConfig], Awaitable[Answered]]
) -> DisputePayload:
    principal = await info.context.principal()
    try:
        dispute, payment = await service(principal, info.context.runtime.services)
    except PaymentsError as error:
        return DisputePayload(errors=payload_errors(error))
    return DisputePayload(dispute=Dispute.from_model(dispute), payment=Payment.from_model(payment))


@strawberry.type
class DisputeMutations:
    @strawberry.mutation(
        description="Admins only: send evidence for an open dispute; `submit` finalises it."
    )
    async def submit_dispute_evidence(
        self, info: Info, input: SubmitDisputeEvidenceInput, idempotency_key: str
    ) -> DisputePayload:
        command = EvidenceInput(str(input.dispute_id), input.evidence, input.submit)
        return await _answer(
            info,
            lambda principal, config: disputes.submit_evidence(
                principal, command, idempotency_key, config
            ),
        )

    @strawberry.mutation(description="Admins only: concede an open dispute; it closes as lost.")
    async def accept_dispute(
        self, info: Info, input: AcceptDisputeInput, idempotency_key: str
    ) -> DisputePayload:
        dispute_id = str(input.dispute_id)
        return await _answer(
            info,
            lambda principal, config: disputes.accept(
                principal, dispute_id, idempotency_key, config
            ),
        )
