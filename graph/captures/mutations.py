"""capturePayment: parse input, call the capture service, shape the payload."""

import strawberry

from graph.context import Info
from graph.payload import PaymentPayload, payment_answer
from payments.captures import service as captures
from payments.captures.rules import CaptureInput


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
        return await payment_answer(
            info,
            CapturePaymentPayload,
            lambda principal, services: captures.capture(
                principal, command, idempotency_key, services
            ),
        )
