"""createPaymentIntent and confirmPayment: parse input, call the service, shape the payload."""

import strawberry
from strawberry.scalars import JSON

from graph.context import Info
from graph.enums import CaptureMethod, PaymentMethodType
from graph.payload import PaymentError, PaymentPayload, payload_errors, payment_answer
from graph.payments.types import Payment
from payments.intents import service as intents
from payments.intents.rules import ConfirmInput, IntentInput
from payments.shared.errors import PaymentsError


@strawberry.input
class CreatePaymentIntentInput:
    order_id: str
    amount: int
    currency: str
    customer_id: str | None = None
    capture_method: CaptureMethod | None = CaptureMethod.AUTOMATIC
    description: str | None = None
    metadata: JSON | None = None
    payment_method_type: PaymentMethodType | None = PaymentMethodType.CARD
    return_url: str | None = None
    cancel_url: str | None = None


@strawberry.type
class CreatePaymentIntentPayload:
    payment: Payment | None = None
    # For the frontend that confirms it (Stripe.js); given to whoever created the intent.
    client_secret: str | None = None
    errors: list[PaymentError] = strawberry.field(default_factory=list)


@strawberry.input
class ConfirmPaymentInput:
    payment_id: strawberry.ID
    payment_method_id: str | None = None
    return_url: str | None = None


@strawberry.type
class ConfirmPaymentPayload(PaymentPayload):
    pass


@strawberry.type
class IntentMutations:
    @strawberry.mutation(description="Create a payment the customer confirms (Payment Element).")
    async def create_payment_intent(
        self, info: Info, input: CreatePaymentIntentInput, idempotency_key: str
    ) -> CreatePaymentIntentPayload:
        command = IntentInput(
            order_id=input.order_id,
            amount=input.amount,
            currency=input.currency,
            customer_id=input.customer_id or "",
            capture_method=input.capture_method or CaptureMethod.AUTOMATIC,
            description=input.description,
            metadata=input.metadata,  # type: ignore[arg-type]  # validated as an object
            payment_method_type=input.payment_method_type or PaymentMethodType.CARD,
            return_url=input.return_url,
            cancel_url=input.cancel_url,
        )
        principal = await info.context.principal()
        try:
            payment = await intents.create_intent(
                principal, command, idempotency_key, info.context.runtime.services
            )
        except PaymentsError as error:
            return CreatePaymentIntentPayload(errors=payload_errors(error))
        return CreatePaymentIntentPayload(
            payment=Payment.from_model(payment), client_secret=payment.client_secret
        )

    @strawberry.mutation(description="Confirm a payment with a method on the server (for BFFs).")
    async def confirm_payment(
        self, info: Info, input: ConfirmPaymentInput, idempotency_key: str
    ) -> ConfirmPaymentPayload:
        command = ConfirmInput(
            payment_id=str(input.payment_id),
            payment_method_id=input.payment_method_id,
            return_url=input.return_url,
        )
        return await payment_answer(
            info,
            ConfirmPaymentPayload,
            lambda principal, services: intents.confirm(
                principal, command, idempotency_key, services
            ),
        )
