"""Read side: payments visible to a principal, pages of them, and their children."""

import base64
import binascii
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from models.enums import EventSource, PaymentStatus
from models.ids import ID_LENGTH
from models.payment import Payment, PaymentStatusHistory, Refund
from payments.shared.auth import Principal, Scope
from payments.shared.errors import ValidationFailed
from payments.shared.input_rules import as_utc, could_be_id
from payments.shared.rows import fetch_models, fetch_rows, select_one

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class PaymentFilter:
    statuses: Sequence[PaymentStatus] = ()
    order_id: str | None = None
    customer_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


class StatusChange(NamedTuple):
    """An applied status change of a payment, as its history lists it (a page has dozens)."""

    status: PaymentStatus
    source: EventSource
    occurred_at: datetime
    version: int


@dataclass(frozen=True)
class PaymentPage:
    payments: list[Payment]
    has_next_page: bool
    end_cursor: str | None = field(default=None)


async def get_payment(principal: Principal, payment_id: str) -> Payment | None:
    """The payment if it exists and the principal may see it; otherwise None (never 'forbidden')."""
    principal.require(Scope.READ)
    if not could_be_id(payment_id, ID_LENGTH):
        return None
    payment = await select_one(Payment, id=payment_id)
    if payment is None or not principal.may_see(payment.customer_id):
        return None
    return payment


async def get_refund(principal: Principal, refund_id: str) -> Refund | None:
    """The refund if its payment is visible to the principal; otherwise None."""
    principal.require(Scope.READ)
    if not could_be_id(refund_id, ID_LENGTH):
        return None
    refund = await Refund.get_or_none(id=refund_id).prefetch_related("payment")
    if refund is None or not principal.may_see(refund.payment.customer_id):
        return None
    return refund


async def list_payments(
    principal: Principal, first: int, after: str | None, filters: PaymentFilter
) -> PaymentPage:
    """A page of the principal's payments, newest first, with keyset pagination."""
    principal.require(Scope.READ)
    if not 0 < first <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"first must be between 1 and {MAX_PAGE_SIZE}.", field="first")
    before = decode_cursor(after) if after else None
    conditions = _conditions(principal, filters, before)
    if conditions is None:  # no stored payment could match: never sent to the database
        return PaymentPage(payments=[], has_next_page=False)
    sql, values = _page_sql(conditions, first + 1)
    rows = await fetch_models(Payment, sql, values)
    page = rows[:first]
    cursor = encode_cursor(page[-1].id) if page else None
    return PaymentPage(payments=page, has_next_page=len(rows) > first, end_cursor=cursor)


# (column, operator, value): what a page's WHERE compares, every column a constant here.
Condition = tuple[str, str, Any]


def _conditions(
    principal: Principal, filters: PaymentFilter, before: str | None
) -> list[Condition] | None:
    if not all(could_be_id(v) for v in (filters.order_id, filters.customer_id) if v is not None):
        return None
    customer_id = filters.customer_id
    if not principal.is_admin:
        if customer_id not in (None, principal.sub):
            return None
        customer_id = principal.sub
    conditions: list[Condition] = []
    if customer_id is not None:
        conditions.append(("customer_id", "=", customer_id))
    if filters.statuses:
        conditions.append(("status", "IN", list(filters.statuses)))
    if filters.order_id is not None:
        conditions.append(("order_id", "=", filters.order_id))
    if filters.created_after is not None:
        conditions.append(("created_at", ">=", as_utc(filters.created_after)))
    if filters.created_before is not None:
        conditions.append(("created_at", "<", as_utc(filters.created_before)))
    if before is not None:
        conditions.append(("id", "<", before))
    return conditions


def _page_sql(conditions: list[Condition], limit: int) -> tuple[str, list[Any]]:
    """The page's statement, written directly: Tortoise's builder cost more than the query."""
    fields = Payment._meta.fields_map
    where: list[str] = []
    values: list[Any] = []
    for column, operator, value in conditions:
        bound = value if operator == "IN" else [value]
        first = len(values) + 1
        values += [fields[column].to_db_value(item, Payment) for item in bound]
        placeholders = ", ".join(f"${n}" for n in range(first, len(values) + 1))
        where.append(
            f"{column} IN ({placeholders})" if operator == "IN" else f"{column} {operator} ${first}"
        )
    values.append(limit)
    sql = (
        f"SELECT {_PAYMENT_COLUMNS} FROM payments"
        f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY id DESC LIMIT ${len(values)}"
    )
    return sql, values


_PAYMENT_COLUMNS = ", ".join(Payment._meta.fields_db_projection.values())


def encode_cursor(payment_id: str) -> str:
    return base64.urlsafe_b64encode(f"payment:{payment_id}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    """The payment id inside an opaque cursor; ValidationFailed when it is not one of ours."""
    try:
        kind, _, payment_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        kind, payment_id = "", ""
    if kind != "payment" or not could_be_id(payment_id, ID_LENGTH):
        raise ValidationFailed("Invalid pagination cursor.", field="after")
    return payment_id


# A page's children are read by SQL written once per page size: Tortoise's query builder and
# model rows cost a page more CPU than PostgreSQL spends answering (issue 31's profile).
async def refunds_by_payment(payment_ids: Sequence[str]) -> list[list[Refund]]:
    """Refunds of many payments in one query, in the order of `payment_ids`."""
    grouped: dict[str, list[Refund]] = defaultdict(list)
    for refund in await fetch_models(Refund, _refunds_sql(len(payment_ids)), payment_ids):
        grouped[refund.payment_id].append(refund)
    return [grouped[payment_id] for payment_id in payment_ids]


async def client_secrets_by_payment(payment_ids: Sequence[str]) -> list[str | None]:
    """The client secrets of many payments in one query, in the order of `payment_ids`."""
    rows = await Payment.filter(id__in=payment_ids).values_list("id", "client_secret")
    secrets: dict[str, str | None] = dict(rows)
    return [secrets.get(payment_id) for payment_id in payment_ids]


async def history_by_payment(payment_ids: Sequence[str]) -> list[list[StatusChange]]:
    """Applied status changes of many payments in one query, in the order of `payment_ids`."""
    grouped: dict[str, list[StatusChange]] = defaultdict(list)
    occurred_at = _HISTORY_FIELDS["occurred_at"].to_python_value  # SQLite answers text
    for row in await fetch_rows(_history_sql(len(payment_ids)), payment_ids):
        grouped[row["payment_id"]].append(
            StatusChange(
                _STATUSES[row["status"]],
                _SOURCES[row["source"]],
                occurred_at(row["occurred_at"]),
                row["version"],
            )
        )
    return [grouped[payment_id] for payment_id in payment_ids]


_HISTORY_FIELDS: dict[str, Any] = PaymentStatusHistory._meta.fields_map
# A dictionary finds a member by its stored value several times faster than calling the enum.
_STATUSES = {status.value: status for status in PaymentStatus}
_SOURCES = {source.value: source for source in EventSource}


@lru_cache(maxsize=128)
def _refunds_sql(count: int) -> str:
    columns = ", ".join(Refund._meta.fields_db_projection.values())
    return (
        f"SELECT {columns} FROM refunds WHERE payment_id IN ({_placeholders(count)}) "
        "ORDER BY created_at, id"
    )


@lru_cache(maxsize=128)
def _history_sql(count: int) -> str:
    return (
        "SELECT payment_id, status, source, occurred_at, version FROM payment_status_history "
        f"WHERE payment_id IN ({_placeholders(count)}) AND applied ORDER BY version, id"
    )


def _placeholders(count: int) -> str:
    return ", ".join(f"${number}" for number in range(1, count + 1))
