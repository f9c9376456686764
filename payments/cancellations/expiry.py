"""The sweep that cancels authorizations not captured by `capture_before` (reason EXPIRED)."""

from datetime import UTC, datetime

import structlog
from tortoise.expressions import Q

from models.enums import CancellationReason, PaymentStatus, PendingOperation
from models.payment import Payment
from payments.cancellations.service import CancelInput, cancel
from payments.service_config import ServiceConfig
from payments.shared.auth import ALL_SCOPES, Principal
from payments.shared.errors import PaymentsError
from payments.shared.rows import every_row

log = structlog.get_logger(__name__)

BATCH_SIZE = 100
# The service itself, acting on every customer's payments.
SWEEPER = Principal("system:authorization-expiry", frozenset(ALL_SCOPES.split()))


async def cancel_lapsed_authorizations(config: ServiceConfig, now: datetime | None = None) -> int:
    """Cancel AUTHORIZED payments past `capture_before`; returns how many were canceled.

    Each goes through cancelPayment's own flow with a key derived from the payment id,
    so a sweep that dies half-way is resumed by the next one, never canceled twice.
    """
    # A cancel a dead sweep left under way is resumed by its key; a capture is left alone.
    free = Q(pending_operation__isnull=True) | Q(pending_operation=PendingOperation.CANCEL)
    lapsed = Payment.filter(
        free, status=PaymentStatus.AUTHORIZED, capture_before__lte=now or datetime.now(UTC)
    )
    canceled = 0
    async for payment in every_row(lapsed, BATCH_SIZE):
        canceled += await _expire(payment.id, config)
    return canceled


async def _expire(payment_id: str, config: ServiceConfig) -> int:
    request = CancelInput(payment_id, CancellationReason.EXPIRED)
    try:
        await cancel(SWEEPER, request, f"expire-{payment_id}", config)
    except PaymentsError as error:
        # E.g. captured or canceled meanwhile, or the gateway down: the next sweep retries.
        log.warning("authorization_expiry_failed", payment_id=payment_id, error=error.message)
        return 0
    log.info("authorization_expired", payment_id=payment_id)
    return 1
