"""Mutation resolvers: parse input, call one service function, shape the payload."""

import strawberry
from strawberry.scalars import JSON

from graph.context import Info
from graph.enums import PaymentErrorCode, RefundReason
from graph.types import Payment, PaymentError, Refund
from payments import charges, refunds
from payments.errors import PaymentErrors, PaymentsError
from payments.validation import ChargeInput, RefundInput

_PAYLOAD_CODES = {code.value for code in PaymentErrorCode}


@strawberry.input
class ChargePaymentInput:
    order_id: str
    amount: int
    currency: str
    payment_method_id: str
    customer_id: str | None = None
    description: str | None = None
    metadata: JSON | None = None


@strawberry.input
class RefundPaymentInput:
    payment_id: strawberry.ID
    amount: int | None = None
    reason: RefundReason | None = None


@strawberry.type
class ChargePaymentPayload:
    payment: Payment | None = None
    errors: list[PaymentError] = strawberry.field(default_factory=list)


@strawberry.type
class RefundPaymentPayload:
    refund: Refund | None = None
    payment: Payment | None = None
    errors: list[PaymentError] = strawberry.field(default_factory=list)


def payload_errors(error: PaymentsError) -> list[PaymentError]:
    """Input and business errors become payload data; auth and limits stay GraphQL errors."""
    errors = error.errors if isinstance(error, PaymentErrors) else [error]
    if not all(e.code in _PAYLOAD_CODES for e in errors):
        raise error
    return [PaymentError.from_error(e) for e in errors]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Charge a payment method; retries with the same key are safe.")
    async def charge_payment(
        self, info: Info, input: ChargePaymentInput, idempotency_key: str
    ) -> ChargePaymentPayload:
        command = ChargeInput(
            order_id=input.order_id,
            amount=input.amount,
            currency=input.currency,
            payment_method_id=input.payment_method_id,
            customer_id=input.customer_id or "",
            description=input.description,
            metadata=input.metadata,  # type: ignore[arg-type]  # validated as an object
        )
        principal = await info.context.principal()
        try:
            payment = await charges.charge(
                principal, command, idempotency_key, info.context.runtime.services
            )
        except PaymentsError as error:
            return ChargePaymentPayload(errors=payload_errors(error))
        return ChargePaymentPayload(payment=Payment.from_model(payment))

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
