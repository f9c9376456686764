"""refundPayment: parse input, call the refund service, shape the payload."""

import strawberry

from graph.context import Info
from graph.enums import RefundReason
from graph.payload import PaymentError, payload_errors
from graph.payments.types import Payment
from graph.refunds.types import Refund
from payments.refunds import service as refunds
from payments.refunds.rules import RefundInput
from payments.shared.errors import PaymentsError


@strawberry.input
class RefundPaymentInput:
    payment_id: strawberry.ID
    amount: int | None = None
    reason: RefundReason | None = None


@strawberry.type
class RefundPaymentPayload:
    refund: Refund | None = None
    payment: Payment | None = None
    errors: list[PaymentError] = strawberry.field(default_factory=list)


@strawberry.type
class RefundMutations:
    @strawberry.mutation(
        description="Refund all or part of a payment; never past what was captured."
    )
    async def refund_payment(
        self, info: Info, input: RefundPaymentInput, idempotency_key: str
    ) -> RefundPaymentPayload:
        command = RefundInput(
            payment_id=str(input.payment_id), amount=input.amount, reason=input.reason
        )
        principal = await info.context.principal()
        try:
            refund, payment = await refunds.refund(
                principal, command, idempotency_key, info.context.runtime.services
            )
        except PaymentsError as error:
            return RefundPaymentPayload(errors=payload_errors(error))
        return RefundPaymentPayload(
            refund=Refund.from_model(refund), payment=Payment.from_model(payment)
        )
