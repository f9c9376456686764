"""WebhookEvent and Delivery as the CLI shows them, their connections and filters."""

from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

import strawberry
from tortoise.models import Model

from graph.connections import PageInfo
from models.enums import DeliveryStatus, InboxStatus
from models.inbox import WebhookEvent as StoredEvent
from models.outbox import OutboxDelivery
from payments.operations import service as operations
from payments.operations.paging import Page

T = TypeVar("T")
M = TypeVar("M", bound=Model)

strawberry.enum(InboxStatus, name="WebhookEventStatus")
strawberry.enum(DeliveryStatus)


@strawberry.type
class WebhookEvent:
    id: strawberry.ID
    provider: str
    provider_event_id: str
    stripe_event_id: str = strawberry.field(
        deprecation_reason="Use providerEventId (equal to it for Stripe events)."
    )
    type: str
    status: InboxStatus
    attempts: int
    received_at: datetime
    processed_at: datetime | None
    last_error: str | None

    @classmethod
    def from_model(cls, row: StoredEvent) -> "WebhookEvent":
        return cls(
            id=strawberry.ID(str(row.id)),
            provider=row.provider,
            provider_event_id=row.event_id,
            stripe_event_id=row.event_id,
            type=row.type,
            status=row.status,
            attempts=row.attempts,
            received_at=row.received_at,
            processed_at=row.processed_at,
            last_error=row.error,
        )


@strawberry.type
class Delivery:
    id: strawberry.ID
    event_id: str
    consumer: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None

    @classmethod
    def from_model(cls, row: OutboxDelivery) -> "Delivery":
        return cls(
            id=strawberry.ID(str(row.id)),
            event_id=row.event_id,
            consumer=row.consumer,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
        )


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    """A Relay connection; Strawberry names it after its node (WebhookEventConnection...)."""

    edges: list[Edge[T]]
    page_info: PageInfo


def connection(page: Page[M], node: Callable[[M], T]) -> Connection[T]:
    """The connection of one page of rows, each shaped by `node`."""
    edges = [Edge(cursor=c, node=node(row)) for c, row in zip(page.cursors, page.rows, strict=True)]
    info = PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor)
    return Connection(edges=edges, page_info=info)


@strawberry.input
class WebhookEventFilter:
    status: list[InboxStatus] | None = None
    type: str | None = None
    provider: str | None = None
    stripe_event_id: str | None = None
    received_after: datetime | None = None
    received_before: datetime | None = None

    def to_domain(self) -> operations.WebhookEventFilter:
        return operations.WebhookEventFilter(
            statuses=tuple(self.status or ()),
            type=self.type,
            provider=self.provider,
            stripe_event_id=self.stripe_event_id,
            received_after=self.received_after,
            received_before=self.received_before,
        )


@strawberry.input
class DeliveryFilter:
    status: list[DeliveryStatus] | None = None
    consumer: str | None = None
    event_id: str | None = None
    payment_id: str | None = None
    failed: bool = strawberry.field(
        default=False, description="Dead, or open after a failed attempt (CLI's --failed)."
    )

    def to_domain(self) -> operations.DeliveryFilter:
        return operations.DeliveryFilter(
            statuses=tuple(self.status or ()),
            consumer=self.consumer,
            event_id=self.event_id,
            payment_id=self.payment_id,
            failed=self.failed,
        )
