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


@strawberry.type
class PaymentStats:
    count: int
    succeeded_count: int
    failed_count: int
    success_rate: float | None
    by_currency: list[CurrencyStats]
    by_status: list[StatusStats]

    @classmethod
    def from_domain(cls, stats: statistics.PaymentStats) -> "PaymentStats":
        return cls(
            count=stats.count,
            succeeded_count=stats.succeeded_count,
            failed_count=stats.failed_count,
            success_rate=stats.success_rate,
            by_currency=[
                CurrencyStats(
                    currency=c.currency,
                    count=c.count,
                    amount_captured=Long(c.amount_captured),
                    amount_refunded=Long(c.amount_refunded),
                    net=Long(c.net),
                )
                for c in stats.by_currency
            ],
            by_status=[
                StatusStats(status=s.status, count=s.count, amount=Long(s.amount))
                for s in stats.by_status
            ],
        )
