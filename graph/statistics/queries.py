"""paymentStats: translate arguments, call the statistics service, shape the answer."""

from datetime import datetime
from typing import Annotated

import strawberry

from graph.context import Info
from graph.statistics.types import PaymentStats
from payments.statistics.service import payment_stats


@strawberry.type
class StatisticsQueries:
    @strawberry.field(
        description="Counts and money of the caller's payments created in [from, to)."
    )
    async def payment_stats(
        self,
        info: Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        customer_id: str | None = None,
    ) -> PaymentStats:
        principal = await info.context.principal()
        stats = await payment_stats(principal, from_, to, customer_id)
        return PaymentStats.from_domain(stats)
