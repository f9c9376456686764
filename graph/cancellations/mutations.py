"""cancelPayment: parse input, call the cancellation service, shape the payload."""

import strawberry

from graph.context import Info
from graph.enums import CancellationReason
from graph.payload import PaymentPayload, payload_errors
from graph.payments.types import Payment
from payments.cancellations import service as cancellations
from payments.cancellations.service import CancelInput
from payments.shared.errors import PaymentsError


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
        principal = await info.context.principal()
        try:
            payment = await cancellations.cancel(
                principal, command, idempotency_key, info.context.runtime.services
            )
        except PaymentsError as error:
            return CancelPaymentPayload(errors=payload_errors(error))
        return CancelPaymentPayload(payment=Payment.from_model(payment))
