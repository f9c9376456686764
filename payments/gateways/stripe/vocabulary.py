"""Stripe's words for refund statuses and reasons and for cancellation reasons, and ours.

Free of the SDK, so that code reading Stripe's webhook JSON can share it with the adapter.
"""

from typing import Literal

from models.enums import CancellationReason, RefundReason, RefundStatus

# Stripe's cancel accepts these four; a lapsed hold we void is simply abandoned there.
CANCEL_REASONS: dict[
    CancellationReason, Literal["abandoned", "duplicate", "fraudulent", "requested_by_customer"]
] = {
    CancellationReason.DUPLICATE: "duplicate",
    CancellationReason.FRAUDULENT: "fraudulent",
    CancellationReason.REQUESTED_BY_CUSTOMER: "requested_by_customer",
    CancellationReason.ABANDONED: "abandoned",
    CancellationReason.EXPIRED: "abandoned",
}
# Stripe's cancellation reasons; `automatic` is Stripe voiding a lapsed authorization.
CANCELLATION_REASONS = {
    "duplicate": CancellationReason.DUPLICATE,
    "fraudulent": CancellationReason.FRAUDULENT,
    "requested_by_customer": CancellationReason.REQUESTED_BY_CUSTOMER,
    "abandoned": CancellationReason.ABANDONED,
    "automatic": CancellationReason.EXPIRED,
    "expired": CancellationReason.EXPIRED,
}
_REFUND_STATUSES = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}
REFUND_REASONS: dict[RefundReason, Literal["duplicate", "fraudulent", "requested_by_customer"]] = {
    RefundReason.DUPLICATE: "duplicate",
    RefundReason.FRAUDULENT: "fraudulent",
    RefundReason.REQUESTED_BY_CUSTOMER: "requested_by_customer",
}


def refund_status(stripe_status: object) -> RefundStatus:
    """Our status of a Stripe refund; unknown or null statuses are still pending."""
    return _REFUND_STATUSES.get(str(stripe_status), RefundStatus.PENDING)
