"""chargePayment: parse input, call the charge service, shape the payload."""

import strawberry
from strawberry.scalars import JSON

from graph.context import Info
from graph.payload import PaymentError, payload_errors
from graph.payments.types import Payment
from payments.charges import service as charges
from payments.charges.rules import ChargeInput
from payments.shared.errors import PaymentsError


@strawberry.input
class ChargePaymentInput:
    order_id: str
    amount: int
    currency: str
    payment_method_id: str | None = None
    customer_id: str | None = None
    description: str | None = None
    metadata: JSON | None = None


@strawberry.type
class ChargePaymentPayload:
    payment: Payment | None = None
    errors: list[PaymentError] = strawberry.field(default_factory=list)


@strawberry.type
class ChargeMutations:
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
