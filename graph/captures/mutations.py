"""capturePayment: parse input, call the capture service, shape the payload."""

import strawberry

from graph.context import Info
from graph.payload import PaymentPayload, payload_errors
from graph.payments.types import Payment
from payments.captures import service as captures
from payments.captures.rules import CaptureInput
from payments.shared.errors import PaymentsError


@strawberry.input
class CapturePaymentInput:
    payment_id: strawberry.ID
    amount: int | None = None


@strawberry.type
class CapturePaymentPayload(PaymentPayload):
    pass


@strawberry.type
class CaptureMutations:
    @strawberry.mutation(
        description="Capture an authorization; a smaller amount releases the rest."
    )
    async def capture_payment(
        self, info: Info, input: CapturePaymentInput, idempotency_key: str
    ) -> CapturePaymentPayload:
        command = CaptureInput(payment_id=str(input.payment_id), amount=input.amount)
        principal = await info.context.principal()
        try:
            payment = await captures.capture(
                principal, command, idempotency_key, info.context.runtime.services
            )
        except PaymentsError as error:
            return CapturePaymentPayload(errors=payload_errors(error))
        return CapturePaymentPayload(payment=Payment.from_model(payment))
