"""webhookEvents and deliveries: translate arguments, call one operations service, shape pages."""

import strawberry

from graph.context import Info
from graph.operations.types import (
    Connection,
    Delivery,
    DeliveryFilter,
    WebhookEvent,
    WebhookEventFilter,
    connection,
)
from payments.operations import service as operations


@strawberry.type
class OperationsQueries:
    @strawberry.field(
        description="Stored Stripe events, newest first (payments:admin with payments:read)."
    )
    async def webhook_events(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: WebhookEventFilter | None = None,
    ) -> Connection[WebhookEvent]:
        domain_filter = (filter or WebhookEventFilter()).to_domain()
        page = await operations.list_webhook_events(
            await info.context.principal(), 20 if first is None else first, after, domain_filter
        )
        return connection(page, WebhookEvent.from_model)

    @strawberry.field(
        description="Payment event deliveries, newest first (payments:admin with payments:read)."
    )
    async def deliveries(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: DeliveryFilter | None = None,
    ) -> Connection[Delivery]:
        domain_filter = (filter or DeliveryFilter()).to_domain()
        page = await operations.list_deliveries(
            await info.context.principal(), 20 if first is None else first, after, domain_filter
        )
        return connection(page, Delivery.from_model)
