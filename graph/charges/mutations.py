"""chargePayment: parse input, call the charge service, shape the payload."""

import strawberry
from strawberry.scalars import JSON

from graph.context import Info
from graph.enums import CaptureMethod, PaymentMethodType
from graph.payload import PaymentPayload, payment_answer
from payments.charges import service as charges
from payments.charges.rules import ChargeInput


@strawberry.input
class ChargePaymentInput:
    order_id: str
    amount: int
    currency: str
    payment_method_id: str | None = None
    customer_id: str | None = None
    description: str | None = None
    metadata: JSON | None = None
    capture_method: CaptureMethod | None = CaptureMethod.AUTOMATIC
    payment_method_type: PaymentMethodType | None = PaymentMethodType.CARD


@strawberry.type
class ChargePaymentPayload(PaymentPayload):
    pass


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
            capture_method=input.capture_method or CaptureMethod.AUTOMATIC,
            payment_method_type=input.payment_method_type or PaymentMethodType.CARD,
        )
        return await payment_answer(
            info,
            ChargePaymentPayload,
            lambda principal, services: charges.charge(
                principal, command, idempotency_key, services
            ),
        )
