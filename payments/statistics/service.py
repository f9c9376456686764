"""paymentStats: one grouped SQL aggregate over the payments a principal may see."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from models.enums import PaymentStatus
from models.payment import Payment
from payments.shared.auth import Principal, Scope
from payments.shared.errors import ValidationFailed
from payments.shared.input_rules import as_utc, could_be_id

# A refunded payment had succeeded first: it counts as a success in the rate.
SUCCEEDED_STATUSES = frozenset(
    {PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)


@dataclass(frozen=True)
class StatusStats:
    status: PaymentStatus
    count: int
    amount: int


@dataclass(frozen=True)
class CurrencyStats:
    currency: str
    count: int
    amount_captured: int
    amount_refunded: int
    # Money under dispute (open, won or lost) and how many payments were disputed.
    amount_disputed: int = 0
    disputed_count: int = 0

    @property
    def net(self) -> int:
        return self.amount_captured - self.amount_refunded


@dataclass(frozen=True)
class PaymentStats:
    by_currency: list[CurrencyStats]
    by_status: list[StatusStats]

    @property
    def count(self) -> int:
        return sum(group.count for group in self.by_status)

    @property
    def succeeded_count(self) -> int:
        return sum(g.count for g in self.by_status if g.status in SUCCEEDED_STATUSES)

    @property
    def failed_count(self) -> int:
        return sum(g.count for g in self.by_status if g.status is PaymentStatus.FAILED)

    @property
    def success_rate(self) -> float | None:
        """The share of settled payments that succeeded; None when none settled."""
        settled = self.succeeded_count + self.failed_count
        return self.succeeded_count / settled if settled else None

    @property
    def disputed_count(self) -> int:
        return sum(c.disputed_count for c in self.by_currency)

    @property
    def dispute_rate(self) -> float | None:
        """Disputed payments over succeeded ones (card networks act above about 1%)."""
        return self.disputed_count / self.succeeded_count if self.succeeded_count else None


async def payment_stats(
    principal: Principal, start: datetime, end: datetime, customer_id: str | None = None
) -> PaymentStats:
    """Statistics of the payments created in [start, end) that the principal may see.

    Non-admins see their own payments only (another's customerId reads as none);
    admins see all, or one customer's. One GROUP BY (currency, status) query.
    """
    principal.require(Scope.READ)
    start, end = as_utc(start), as_utc(end)
    if end < start:
        raise ValidationFailed("to must not be before from.", field="to")
    owner = customer_id if principal.is_admin else principal.sub
    hidden = not principal.is_admin and customer_id not in (None, principal.sub)
    if hidden or (owner is not None and not could_be_id(owner)):
        return PaymentStats(by_currency=[], by_status=[])  # reads as no payments at all
    return _summarize(await _groups(start, end, owner))


async def _groups(start: datetime, end: datetime, owner: str | None) -> list[dict[str, Any]]:
    query = Payment.filter(created_at__gte=start, created_at__lt=end)
    if owner is not None:
        query = query.filter(customer_id=owner)
    grouped = query.annotate(
        count=Count("id"),
        amount_sum=Sum("amount"),
        captured_sum=Sum("amount_captured"),
        refunded_sum=Sum("amount_refunded"),
        disputed_sum=Sum("amount_disputed"),
        disputed_count=Count("id", _filter=Q(amount_disputed__gt=0)),
    ).group_by("currency", "status")
    rows: list[dict[str, Any]] = await grouped.values(
        "currency",
        "status",
        "count",
        "amount_sum",
        "captured_sum",
        "refunded_sum",
        "disputed_sum",
        "disputed_count",
    )
    return rows


def _summarize(groups: list[dict[str, Any]]) -> PaymentStats:
    by_status: dict[PaymentStatus, StatusStats] = {}
    by_currency: dict[str, CurrencyStats] = {}
    for group in groups:
        status, amount = PaymentStatus(group["status"]), int(group["amount_sum"] or 0)
        seen = by_status.get(status, StatusStats(status, 0, 0))
        by_status[status] = StatusStats(status, seen.count + group["count"], seen.amount + amount)
        currency = by_currency.get(group["currency"], CurrencyStats(group["currency"], 0, 0, 0))
        by_currency[currency.currency] = CurrencyStats(
            currency.currency,
            currency.count + group["count"],
            currency.amount_captured + int(group["captured_sum"] or 0),
            currency.amount_refunded + int(group["refunded_sum"] or 0),
            currency.amount_disputed + int(group["disputed_sum"] or 0),
            currency.disputed_count + int(group["disputed_count"] or 0),
        )
    return PaymentStats(
        by_currency=sorted(by_currency.values(), key=lambda c: c.currency),
        by_status=sorted(by_status.values(), key=lambda s: list(PaymentStatus).index(s.status)),
    )
