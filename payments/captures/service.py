"""capturePayment: reserve the amount under the payment's row lock, capture, commit."""

from dataclasses import asdict
from datetime import UTC, datetime

from models.enums import Operation, PendingOperation
from models.payment import Payment
from payments.captures.rules import CaptureInput, validate_capture
from payments.gateways.base import CaptureRequest, ChargeResult
from payments.lifecycle.state_machine import CAPTURABLE
from payments.payment_calls.service import PaymentCall, run_call
from payments.service_config import ServiceConfig
from payments.shared.auth import Principal
from payments.shared.errors import InvalidAmount, PaymentNotCapturable


async def capture(
    principal: Principal, capture_input: CaptureInput, idempotency_key: str, config: ServiceConfig
) -> Payment:
    """Capture all or part of an AUTHORIZED payment once; a partial capture releases the rest.

    Raises NotFound, PaymentNotCapturable or InvalidAmount (more than is capturable;
    stored on the key and replayed), the key's errors, or GatewayUnavailable (the amount
    stays reserved; retry with the same key to resume).
    """
    validate_capture(capture_input)
    return await run_call(
        principal,
        capture_input.payment_id,
        asdict(capture_input),
        idempotency_key,
        _capture_call(capture_input, config),
        config,
    )


def _capture_call(capture_input: CaptureInput, config: ServiceConfig) -> PaymentCall:
    def reserve(payment: Payment) -> list[str]:
        _check_capturable(payment)
        amount = capture_input.amount or payment.amount_capturable
        if amount > payment.amount_capturable:
            raise InvalidAmount(
                f"Capture of {amount} exceeds the capturable amount of "
                f"{payment.amount_capturable}.",
                field="amount",
            )
        payment.amount_capture_pending = amount
        return ["amount_capture_pending"]

    async def call(payment: Payment) -> ChargeResult:
        return await config.gateway_for(payment.payment_method_type).capture(
            CaptureRequest(
                payment_id=payment.id,
                provider_payment_id=payment.provider_payment_id or "",
                amount_to_capture=payment.amount_capture_pending,
                # One capture per payment (Stripe's rule), so the payment id is the key.
                idempotency_key=f"capture-{payment.id}",
            )
        )

    return PaymentCall(
        Operation.CAPTURE,
        PendingOperation.CAPTURE,
        reserve,
        call,
        refused=PaymentNotCapturable,
        also_refused=(InvalidAmount,),
    )


def _check_capturable(payment: Payment) -> None:
    if payment.status not in CAPTURABLE:
        raise PaymentNotCapturable(
            f"A {payment.status.value} payment cannot be captured.", field="paymentId"
        )
    if payment.capture_before is not None and payment.capture_before <= datetime.now(UTC):
        raise PaymentNotCapturable("The authorization has expired.", field="paymentId")
