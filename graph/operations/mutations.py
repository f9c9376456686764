"""replayWebhookEvent and redriveDelivery: call the service the CLI uses, shape the payload."""

import strawberry

from graph.context import Info
from graph.operations.types import Delivery, WebhookEvent
from graph.payload import PaymentError, payload_errors
from payments.operations import service as operations
from payments.shared.errors import PaymentsError


@strawberry.type
class WebhookEventPayload:
    webhook_event: WebhookEvent | None = None
    errors: list[PaymentError] = strawberry.field(default_factory=list)


@strawberry.type
class DeliveryPayload:
    delivery: Delivery | None = None
    errors: list[PaymentError] = strawberry.field(default_factory=list)


@strawberry.type
class OperationsMutations:
    @strawberry.mutation(
        description="Process a stored Stripe event again now (payments:admin with payments:write)."
    )
    async def replay_webhook_event(self, info: Info, id: strawberry.ID) -> WebhookEventPayload:
        principal = await info.context.principal()
        try:
            row = await operations.replay_webhook_event(principal, str(id))
        except PaymentsError as error:
            return WebhookEventPayload(errors=payload_errors(error))
        return WebhookEventPayload(webhook_event=WebhookEvent.from_model(row))

    @strawberry.mutation(
        description="Deliver a dead-lettered event again (payments:admin with payments:write)."
    )
    async def redrive_delivery(self, info: Info, id: strawberry.ID) -> DeliveryPayload:
        principal = await info.context.principal()
        try:
            row = await operations.redrive_delivery(principal, str(id))
        except PaymentsError as error:
            return DeliveryPayload(errors=payload_errors(error))
        return DeliveryPayload(delivery=Delivery.from_model(row))
