"""paymentUpdated and paymentsUpdated: owner-scoped streams of committed payment states."""

from collections.abc import AsyncIterator

from models.payment import Payment
from payments.live.hub import Hub
from payments.live.subscription import Subscription
from payments.outbox.versions import PaymentVersion
from payments.reads.service import PaymentFilter, get_payment
from payments.shared.auth import Principal, Scope
from payments.shared.errors import NotFound


async def payment_updates(
    hub: Hub, principal: Principal, payment_id: str, max_pending: int
) -> AsyncIterator[PaymentVersion]:
    """Each committed change of one visible payment, in version order; NotFound otherwise."""
    if await get_payment(principal, payment_id) is None:
        raise NotFound("Payment", field="id")
    subscription = Subscription(principal, lambda _: True, payment_id, max_pending)
    async for payment in _stream(hub, subscription):
        yield payment


async def payments_updates(
    hub: Hub, principal: Principal, filters: PaymentFilter, max_pending: int
) -> AsyncIterator[PaymentVersion]:
    """Each committed change of any payment the principal may see that matches `filters`."""
    principal.require(Scope.READ)
    subscription = Subscription(
        principal, lambda p: matches(principal, filters, p.payment), None, max_pending
    )
    async for payment in _stream(hub, subscription):
        yield payment


async def _stream(hub: Hub, subscription: Subscription) -> AsyncIterator[PaymentVersion]:
    hub.add(subscription)
    try:
        while True:
            yield await subscription.next()
    finally:
        hub.remove(subscription)


def matches(principal: Principal, filters: PaymentFilter, payment: Payment) -> bool:
    """Whether the payment, as it is now, is visible to the principal and passes `filters`."""
    checks = (
        principal.may_see(payment.customer_id),
        not filters.statuses or payment.status in filters.statuses,
        filters.order_id in (None, payment.order_id),
        filters.customer_id in (None, payment.customer_id),
        filters.created_after is None or payment.created_at >= filters.created_after,
        filters.created_before is None or payment.created_at < filters.created_before,
    )
    return all(checks)
