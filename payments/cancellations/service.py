"""cancelPayment: an open intent or an authorization is canceled (voided) at the gateway."""

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

from models.enums import CancellationReason, Operation, PendingOperation
from models.payment import Payment
from payments.gateways.base import CancelRequest, ChargeResult
from payments.lifecycle.state_machine import CANCELABLE
from payments.payment_calls.rules import check_payment_reference
from payments.payment_calls.service import PaymentCall, run_call
from payments.service_config import ServiceConfig
from payments.shared.auth import Principal
from payments.shared.errors import PaymentNotCancelable


@dataclass(frozen=True)
class CancelInput:
    payment_id: str
    reason: CancellationReason | None = None


async def cancel(
    principal: Principal, cancel_input: CancelInput, idempotency_key: str, config: ServiceConfig
) -> Payment:
    """Cancel a REQUIRES_PAYMENT_METHOD, REQUIRES_ACTION or AUTHORIZED payment once per key.

    Raises NotFound or PaymentNotCancelable (stored on the key and replayed), the key's
    errors, or GatewayUnavailable (retry with the same key to resume).
    """
    check_payment_reference(cancel_input.payment_id)
    return await run_call(
        principal,
        cancel_input.payment_id,
        asdict(cancel_input),
        idempotency_key,
        _cancel_call(cancel_input.reason, config),
        config,
    )


def _cancel_call(reason: CancellationReason | None, config: ServiceConfig) -> PaymentCall:
    def reserve(payment: Payment) -> list[str]:
        if payment.status not in CANCELABLE:
            raise PaymentNotCancelable(
                f"A {payment.status.value} payment cannot be canceled.", field="paymentId"
            )
        return []

    async def call(payment: Payment) -> ChargeResult:
        result = await config.gateway_for(payment.payment_method_type).cancel(
            CancelRequest(
                payment_id=payment.id,
                provider_payment_id=payment.provider_payment_id or "",
                reason=reason,
                # A payment is canceled at most once, so the payment id is the key.
                idempotency_key=f"cancel-{payment.id}",
            )
        )
        # Our own reason and time when the gateway's answer does not say them.
        return replace(
            result,
            cancellation_reason=result.cancellation_reason or reason,
            canceled_at=result.canceled_at or datetime.now(UTC),
        )

    return PaymentCall(
        Operation.CANCEL,
        PendingOperation.CANCEL,
        reserve,
        call,
        refused=PaymentNotCancelable,
    )
