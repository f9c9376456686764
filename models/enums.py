"""Enumerations stored in the database and exposed by the API."""

from enum import StrEnum


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    REQUIRES_ACTION = "REQUIRES_ACTION"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


class RefundStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class RefundReason(StrEnum):
    DUPLICATE = "DUPLICATE"
    FRAUDULENT = "FRAUDULENT"
    REQUESTED_BY_CUSTOMER = "REQUESTED_BY_CUSTOMER"


class EventSource(StrEnum):
    API = "API"
    WEBHOOK = "WEBHOOK"
    RECONCILER = "RECONCILER"


class Operation(StrEnum):
    """The mutation an idempotency key is scoped to."""

    CHARGE = "charge"
    REFUND = "refund"
    CREATE_CUSTOMER = "create_customer"
    SETUP_INTENT = "setup_intent"
    ATTACH_PAYMENT_METHOD = "attach_method"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    ENQUEUED = "ENQUEUED"
    DELIVERED = "DELIVERED"
    DEAD = "DEAD"


class InboxStatus(StrEnum):
    """Processing state of a stored inbound (Stripe) webhook event."""

    RECEIVED = "RECEIVED"
    PROCESSED = "PROCESSED"
    IGNORED = "IGNORED"
    FAILED = "FAILED"
    PARKED = "PARKED"
