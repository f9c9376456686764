"""eventEndpoints: one page of the registry for an admin."""

import strawberry

from graph.context import Info
from graph.endpoints.types import EventEndpointConnection
from payments.endpoints import service as endpoints


@strawberry.type
class EndpointQueries:
    @strawberry.field(
        description="Where payment events go, oldest first (payments:admin with payments:read)."
    )
    async def event_endpoints(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> EventEndpointConnection:
        principal = await info.context.principal()
        page = await endpoints.list_endpoints(principal, 20 if first is None else first, after)
        return EventEndpointConnection.from_page(page)
