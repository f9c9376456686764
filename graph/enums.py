"""GraphQL enums: the stored enums, registered with Strawberry, and the error codes."""

from enum import Enum

import strawberry

from models.enums import (
    CancellationReason,
    CaptureMethod,
    DisputeStatus,
    EventSource,
    NextActionType,
    PaymentMethodType,
    PaymentStatus,
    RefundReason,
    RefundStatus,
)

for _stored in (
    PaymentMethodType,
    NextActionType,
    PaymentStatus,
    RefundStatus,
    RefundReason,
    EventSource,
    CaptureMethod,
    CancellationReason,
    DisputeStatus,
):
    strawberry.enum(_stored)

__all__ = [
    "CancellationReason",
    "CaptureMethod",
    "DisputeStatus",
    "EventSource",
    "NextActionType",
    "PaymentErrorCode",
    "PaymentMethodType",
    "PaymentStatus",
    "RefundReason",
    "RefundStatus",
]


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
    PAYMENT_NOT_CAPTURABLE = "PAYMENT_NOT_CAPTURABLE"
    PAYMENT_NOT_CANCELABLE = "PAYMENT_NOT_CANCELABLE"
    PAYMENT_NOT_CONFIRMABLE = "PAYMENT_NOT_CONFIRMABLE"
    PAYMENT_METHOD_TYPE_UNSUPPORTED = "PAYMENT_METHOD_TYPE_UNSUPPORTED"
    PAYMENT_NOT_FUNDABLE = "PAYMENT_NOT_FUNDABLE"
    CUSTOMER_EXISTS = "CUSTOMER_EXISTS"
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"
    PAYMENT_METHOD_NOT_FOUND = "PAYMENT_METHOD_NOT_FOUND"
    NO_DEFAULT_PAYMENT_METHOD = "NO_DEFAULT_PAYMENT_METHOD"
    DISPUTE_NOT_OPEN = "DISPUTE_NOT_OPEN"
