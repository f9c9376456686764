"""GraphQL enums, mirroring the stored ones."""

from enum import Enum

import strawberry

from models import enums

PaymentStatus = strawberry.enum(enums.PaymentStatus)
RefundStatus = strawberry.enum(enums.RefundStatus)
RefundReason = strawberry.enum(enums.RefundReason)
EventSource = strawberry.enum(enums.EventSource)


@strawberry.enum
class PaymentErrorCode(Enum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_CURRENCY = "INVALID_CURRENCY"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"
    NOT_FOUND = "NOT_FOUND"
    PAYMENT_NOT_REFUNDABLE = "PAYMENT_NOT_REFUNDABLE"
    REFUND_EXCEEDS_AVAILABLE = "REFUND_EXCEEDS_AVAILABLE"
    GATEWAY_UNAVAILABLE = "GATEWAY_UNAVAILABLE"
