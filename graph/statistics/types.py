"""PaymentStats, CurrencyStats and StatusStats as the contract names them."""

import strawberry

from graph.enums import PaymentStatus
from graph.scalars import Long
from payments.statistics import service as statistics


@strawberry.type
class StatusStats:
    status: PaymentStatus
    count: int
    amount: Long


@strawberry.type
class CurrencyStats:
    currency: str
    count: int
    amount_captured: Long
    amount_refunded: Long
    net: Long
    # Money its payments' disputes dispute (open, won or lost), and how many were disputed.
    amount_disputed: Long
    disputed_count: int


@strawberry.type
class PaymentStats:
    count: int
    succeeded_count: int
    failed_count: int
    success_rate: float | None
    disputed_count: int
    dispute_rate: float | None = strawberry.field(
        description="Disputed payments over succeeded ones; card networks act above about 1%."
    )
    by_currency: list[CurrencyStats]
    by_status: list[StatusStats]

    @classmethod
    def from_domain(cls, stats: statistics.PaymentStats) -> "PaymentStats":
        return cls(
            count=stats.count,
            succeeded_count=stats.succeeded_count,
            failed_count=stats.failed_count,
            success_rate=stats.success_rate,
            disputed_count=stats.disputed_count,
            dispute_rate=stats.dispute_rate,
            by_currency=[
                CurrencyStats(
                    currency=c.currency,
                    count=c.count,
                    amount_captured=Long(c.amount_captured),
                    amount_refunded=Long(c.amount_refunded),
                    net=Long(c.net),
                    amount_disputed=Long(c.amount_disputed),
                    disputed_count=c.disputed_count,
                )
                for c in stats.by_currency
            ],
            by_status=[
                StatusStats(status=s.status, count=s.count, amount=Long(s.amount))
                for s in stats.by_status
            ],
        )
