"""Read side: payments visible to a principal, pages of them, and their children."""

import base64
import binascii
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

from models.enums import EventSource, PaymentStatus
from models.ids import ID_LENGTH
from models.payment import Payment, PaymentStatusHistory, Refund
from payments.shared.auth import Principal, Scope
from payments.shared.errors import ValidationFailed
from payments.shared.input_rules import as_utc, could_be_id
from payments.shared.rows import (
    fetch_models,
    fetch_models_with,
    fetch_rows,
    models_from_rows,
    on_postgres,
    select_one,
)

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
    # Each payment's refunds and applied status changes (in `payments` order), if asked for.
    refunds: list[list[Refund]] | None = None
    history: list[list[StatusChange]] | None = None


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
    principal: Principal,
    first: int,
    after: str | None,
    filters: PaymentFilter,
    *,
    with_refunds: bool = False,
    with_history: bool = False,
) -> PaymentPage:
    """A page of the principal's payments, newest first, with keyset pagination.

    With `with_refunds` / `with_history`, each payment's refunds / applied status changes
    too: on PostgreSQL in the page's own statement, as each round trip to the database
    cost a page more CPU than PostgreSQL spent answering it (issue 31: ~9% a query).
    """
    principal.require(Scope.READ)
    if not 0 < first <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"first must be between 1 and {MAX_PAGE_SIZE}.", field="first")
    before = decode_cursor(after) if after else None
    conditions = _conditions(principal, filters, before)
    if conditions is None:  # no stored payment could match: never sent to the database
        return PaymentPage(payments=[], has_next_page=False)
    asked = {_REFUNDS: with_refunds, _HISTORY: with_history}
    # SQLite (`payments dev`) reads them by their own queries.
    in_page = [column for column, wanted in asked.items() if wanted] if on_postgres() else []
    sql, values = _page_sql(conditions, first + 1, in_page)
    rows = await fetch_models_with(Payment, sql, values, in_page)
    page = [payment for payment, _ in rows[:first]]
    read = {
        column: [orjson.loads(extra[i] or "[]") for _, extra in rows[:first]]
        for i, column in enumerate(in_page)
    }
    ids = [payment.id for payment in page]
    refunds = history = None
    if with_refunds:
        refunds = (
            [models_from_rows(Refund, each) for each in read[_REFUNDS]]
            if _REFUNDS in read
            else await refunds_by_payment(ids)
        )
    if with_history:
        history = (
            [[_status_change(*change) for change in each] for each in read[_HISTORY]]
            if _HISTORY in read
            else await history_by_payment(ids)
        )
    return PaymentPage(
        payments=page,
        has_next_page=len(rows) > first,
        end_cursor=encode_cursor(page[-1].id) if page else None,
        refunds=refunds,
        history=history,
    )


# What a page's statement adds on PostgreSQL for its payments' children: JSON arrays of
# the same rows, in the same order, as `refunds_by_payment` and `history_by_payment` read.
_REFUNDS = "page_refunds"
_HISTORY = "page_history"
_CHILDREN = {
    _REFUNDS: (
        "(SELECT json_agg(r ORDER BY r.created_at, r.id) FROM refunds AS r"
        " WHERE r.payment_id = payments.id)"
    ),
    _HISTORY: (
        "(SELECT json_agg(json_build_array(h.status, h.source, h.occurred_at, h.version)"
        " ORDER BY h.version, h.id) FROM payment_status_history AS h"
        " WHERE h.payment_id = payments.id AND h.applied)"
    ),
}


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


def _page_sql(
    conditions: list[Condition], limit: int, children: Sequence[str]
) -> tuple[str, list[Any]]:
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
    columns = ", ".join([_PAYMENT_COLUMNS, *(f"{_CHILDREN[c]} AS {c}" for c in children)])
    sql = (
        f"SELECT {columns} FROM payments"
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
    for row in await fetch_rows(_history_sql(len(payment_ids)), payment_ids):
        grouped[row["payment_id"]].append(
            _status_change(row["status"], row["source"], row["occurred_at"], row["version"])
        )
    return [grouped[payment_id] for payment_id in payment_ids]


def _status_change(status: str, source: str, occurred_at: Any, version: int) -> StatusChange:
    # `occurred_at` is text from SQLite and from JSON.
    return StatusChange(_STATUSES[status], _SOURCES[source], _occurred_at(occurred_at), version)


_occurred_at = PaymentStatusHistory._meta.fields_map["occurred_at"].to_python_value
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
