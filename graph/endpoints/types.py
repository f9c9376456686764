"""EventEndpoint, its connection, the inputs of its mutations and their payload."""

from datetime import datetime

import strawberry

from graph.connections import Node, PageInfo
from graph.payload import PaymentError
from models.endpoint import EventEndpoint as StoredEndpoint
from payments.endpoints.service import EndpointChanges, EndpointPage


@strawberry.type
class EventEndpoint(Node):
    url: str
    event_types: list[str]
    enabled: bool
    description: str | None
    disabled_reason: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, endpoint: StoredEndpoint) -> "EventEndpoint":
        return cls(
            id=strawberry.ID(endpoint.id),
            url=endpoint.url,
            event_types=list(endpoint.event_types),
            enabled=endpoint.enabled,
            description=endpoint.description,
            disabled_reason=endpoint.disabled_reason,
            created_at=endpoint.created_at,
        )


@strawberry.type
class EventEndpointEdge:
    cursor: str
    node: EventEndpoint


@strawberry.type
class EventEndpointConnection:
    edges: list[EventEndpointEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: EndpointPage) -> "EventEndpointConnection":
        edges = [
            EventEndpointEdge(cursor=cursor, node=EventEndpoint.from_model(endpoint))
            for cursor, endpoint in zip(page.cursors, page.endpoints, strict=True)
        ]
        end = edges[-1].cursor if edges else None
        return cls(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=end)
        )


@strawberry.type
class EventEndpointPayload:
    endpoint: EventEndpoint | None = None
    secret: str | None = strawberry.field(
        default=None, description="The whsec_ signing secret: only from create and rotate."
    )
    errors: list[PaymentError] = strawberry.field(default_factory=list)


@strawberry.input
class CreateEventEndpointInput:
    url: str
    event_types: list[str] | None = strawberry.field(
        default=None, description='Exact types or a prefix ending in *; default ["*"].'
    )
    description: str | None = None


@strawberry.input
class UpdateEventEndpointInput:
    id: strawberry.ID
    url: str | None = None
    event_types: list[str] | None = None
    enabled: bool | None = None
    description: str | None = None

    def to_domain(self) -> EndpointChanges:
        return EndpointChanges(self.url, self.event_types, self.enabled, self.description)


@strawberry.input
class RotateEventEndpointSecretInput:
    id: strawberry.ID


@strawberry.input
class DeleteEventEndpointInput:
    id: strawberry.ID


@strawberry.input
class RecoverEventEndpointInput:
    id: strawberry.ID
    since: datetime
