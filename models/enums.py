"""Enumerations stored in the database and exposed by the API."""

from enum import StrEnum


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    REQUIRES_PAYMENT_METHOD = "REQUIRES_PAYMENT_METHOD"
    PROCESSING = "PROCESSING"
    REQUIRES_ACTION = "REQUIRES_ACTION"
    AUTHORIZED = "AUTHORIZED"
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


class CaptureMethod(StrEnum):
    AUTOMATIC = "AUTOMATIC"
    MANUAL = "MANUAL"


class CancellationReason(StrEnum):
    DUPLICATE = "DUPLICATE"
    FRAUDULENT = "FRAUDULENT"
    REQUESTED_BY_CUSTOMER = "REQUESTED_BY_CUSTOMER"
    ABANDONED = "ABANDONED"
    EXPIRED = "EXPIRED"


class PaymentMethodType(StrEnum):
    """The rail that moves the money: a card (Stripe or simulated), PayPal, a bank transfer."""

    CARD = "CARD"
    PAYPAL = "PAYPAL"
    BANK_TRANSFER = "BANK_TRANSFER"


class NextActionType(StrEnum):
    """What the customer has to do before the payment can go on."""

    USE_CLIENT_SECRET = "USE_CLIENT_SECRET"
    REDIRECT_TO_URL = "REDIRECT_TO_URL"
    BANK_TRANSFER_INSTRUCTIONS = "BANK_TRANSFER_INSTRUCTIONS"


class PaymentFlow(StrEnum):
    """How a payment was made: it decides where a decline leaves it."""

    # chargePayment: a decline is FAILED for good.
    CHARGE = "CHARGE"
    # createPaymentIntent: a decline returns it to REQUIRES_PAYMENT_METHOD, as Stripe does.
    INTENT = "INTENT"


class PendingOperation(StrEnum):
    """A gateway call on an existing payment that is under way (reserved, not yet settled)."""

    CONFIRM = "CONFIRM"
    CAPTURE = "CAPTURE"
    CANCEL = "CANCEL"


class EventSource(StrEnum):
    API = "API"
    WEBHOOK = "WEBHOOK"
    RECONCILER = "RECONCILER"


class Operation(StrEnum):
    """The mutation an idempotency key is scoped to."""

    CHARGE = "charge"
    REFUND = "refund"
    CREATE_INTENT = "create_intent"
    CONFIRM = "confirm"
    CAPTURE = "capture"
    CANCEL = "cancel"
    CREATE_CUSTOMER = "create_customer"
    SETUP_INTENT = "setup_intent"
    ATTACH_PAYMENT_METHOD = "attach_method"
    SUBMIT_DISPUTE_EVIDENCE = "dispute_evidence"
    ACCEPT_DISPUTE = "accept_dispute"


class DisputeStatus(StrEnum):
    """A dispute's state; WARNING_* are inquiries, which move no money unless escalated."""

    WARNING_NEEDS_RESPONSE = "WARNING_NEEDS_RESPONSE"
    WARNING_UNDER_REVIEW = "WARNING_UNDER_REVIEW"
    WARNING_CLOSED = "WARNING_CLOSED"
    NEEDS_RESPONSE = "NEEDS_RESPONSE"
    UNDER_REVIEW = "UNDER_REVIEW"
    WON = "WON"
    LOST = "LOST"


# Closed for good: a provider moves a dispute out of these never again.
CLOSED_DISPUTE_STATUSES = frozenset(
    {DisputeStatus.WARNING_CLOSED, DisputeStatus.WON, DisputeStatus.LOST}
)


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
