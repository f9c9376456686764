"""cancelPayment: parse input, call the cancellation service, shape the payload."""

import strawberry

from graph.context import Info
from graph.enums import CancellationReason
from graph.payload import PaymentPayload, payment_answer
from payments.cancellations import service as cancellations
from payments.cancellations.service import CancelInput


@strawberry.input
class CancelPaymentInput:
    payment_id: strawberry.ID
    reason: CancellationReason | None = None


@strawberry.type
class CancelPaymentPayload(PaymentPayload):
    pass


@strawberry.type
class CancellationMutations:
    @strawberry.mutation(description="Cancel an open payment or void an authorization.")
    async def cancel_payment(
        self, info: Info, input: CancelPaymentInput, idempotency_key: str
    ) -> CancelPaymentPayload:
        command = CancelInput(payment_id=str(input.payment_id), reason=input.reason)
        return await payment_answer(
            info,
            CancelPaymentPayload,
            lambda principal, services: cancellations.cancel(
                principal, command, idempotency_key, services
            ),
        )
