"""paymentUpdated and paymentsUpdated: subscribe through the live service, shape each push."""

from collections.abc import AsyncGenerator

import strawberry

from graph.context import Info, Loaders
from graph.payments.queries import PaymentFilter
from graph.payments.types import Payment
from payments.live import service as live
from payments.outbox.versions import PaymentVersion


@strawberry.type
class LiveSubscriptions:
    @strawberry.subscription(
        description="Each committed change of a payment visible to the caller, in version order."
    )
    async def payment_updated(self, info: Info, id: strawberry.ID) -> AsyncGenerator[Payment, None]:
        principal = await info.context.principal()
        updates = live.payment_updates(info.context.hub(), principal, str(id), _queue(info))
        async for payment in updates:
            yield _pushed(info, payment)

    @strawberry.subscription(
        description="Each committed change of the caller's payments that match the filter."
    )
    async def payments_updated(
        self, info: Info, filter: PaymentFilter | None = None
    ) -> AsyncGenerator[Payment, None]:
        principal = await info.context.principal()
        domain_filter = (filter or PaymentFilter()).to_domain()
        updates = live.payments_updates(info.context.hub(), principal, domain_filter, _queue(info))
        async for payment in updates:
            yield _pushed(info, payment)


def _queue(info: Info) -> int:
    return info.context.runtime.settings.live_queue_size


def _pushed(info: Info, as_of: PaymentVersion) -> Payment:
    # A connection lives long: loaders cached for the last push would show stale events.
    info.context.loaders = Loaders()
    return Payment.from_version(as_of)
