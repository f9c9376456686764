"""disputes: translate the filter, call the dispute read service, shape the connection."""

import strawberry

from graph.context import Info
from graph.disputes.types import DisputeConnection
from graph.enums import DisputeStatus
from payments.disputes import reads as disputes


@strawberry.input
class DisputeFilter:
    status: list[DisputeStatus] | None = None


@strawberry.type
class DisputeQueries:
    @strawberry.field(description="Admins only: every dispute, newest first.")
    async def disputes(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: DisputeFilter | None = None,
    ) -> DisputeConnection:
        principal = await info.context.principal()
        statuses = tuple((filter or DisputeFilter()).status or ())
        page_size = 20 if first is None else first
        page = await disputes.list_disputes(principal, page_size, after, statuses)
        return DisputeConnection.from_page(page)
