"""Hot-path row access by SQL built once per shape: Tortoise's query builder runs per call.

Building a query with Tortoise costs more CPU than PostgreSQL spends answering it
(issue 7's profiles: about 60% of a lookup by key). These helpers build each
statement once per model, columns and dialect, and afterwards only bind values; rows
become models by conversions looked up once per model and dialect (issue 31).
"""

import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, Generic, TypeVar, cast

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import ValidationError
from tortoise.fields.data import CharEnumFieldInstance, DatetimeField, JSONField
from tortoise.models import Model
from tortoise.queryset import QuerySet

from payments.shared.input_rules import is_storable

M = TypeVar("M", bound=Model)


async def insert_once(row: Model, columns: Sequence[str], unique: Sequence[str]) -> int | None:
    """Insert `row`'s `columns` unless a row with the same `unique` columns exists.

    Returns the new row's id, or None when the row was already there. A concurrent
    insert of the same row waits for the first one's commit and then inserts nothing,
    so callers race-free decide who created it, without an exception or an error line
    in PostgreSQL's log.
    """
    model = type(row)
    db = model._meta.db
    sql = _insert_once_sql(model, db.capabilities.dialect, tuple(columns), tuple(unique))
    inserted = await db.execute_query_dict(sql, _db_values(row, columns))
    return int(inserted[0]["id"]) if inserted else None


async def select_one(
    model: type[M],
    connection: BaseDBAsyncClient | None = None,
    *,
    for_update: bool = False,
    **equal: Any,
) -> M | None:
    """The row whose columns equal `equal` (a primary or unique key), or None.

    With `for_update`, the row stays locked until the caller's transaction ends
    (SQLite has no row locks: there it is a plain read).
    """
    key = _key_values(model, equal)
    if key is None:
        return None
    db = connection or model._meta.db
    lock = for_update and db.capabilities.support_for_update
    sql = _select_one_sql(model, db.capabilities.dialect, tuple(equal), lock)
    _, rows = await db.execute_query(sql, key)
    return model_from_row(model, rows[0], db) if rows else None


def could_match(model: type[Model], **equal: Any) -> bool:
    """Whether a row of `model` could hold these values (none too long for its column or NUL)."""
    return _key_values(model, equal) is not None


async def update_where(
    model: type[Model],
    changes: dict[str, Any],
    connection: BaseDBAsyncClient | None = None,
    **equal: Any,
) -> int:
    """Set `changes` on the rows whose columns equal `equal`; returns how many changed."""
    key = _key_values(model, equal)
    if key is None:
        return 0
    db = connection or model._meta.db
    sql = _update_where_sql(model, db.capabilities.dialect, tuple(changes), tuple(equal))
    changed, _ = await db.execute_query(sql, _to_db(model, changes) + key)
    return int(changed)


async def fetch_rows(sql: str, values: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows of a query written with PostgreSQL's `$1` placeholders (SQLite reads `?1`)."""
    return [dict(row) for row in await _fetch(connections.get("default"), sql, values)]


async def fetch_models(model: type[M], sql: str, values: Sequence[Any]) -> list[M]:
    """Models of the rows of a query (as `fetch_rows`) that selects every column of `model`."""
    return [row for row, _ in await fetch_models_with(model, sql, values, ())]


async def fetch_models_with(
    model: type[M], sql: str, values: Sequence[Any], extra: Sequence[str]
) -> list[tuple[M, list[Any]]]:
    """As `fetch_models`, each model with the values of the `extra` columns the query adds."""
    db = connections.get("default")
    builder: _Builder[M] = _builder(model, db.capabilities.dialect)
    rows = await _fetch(db, sql, values)
    return [(builder.build(row), [row[column] for column in extra]) for row in rows]


def models_from_rows(model: type[M], rows: Iterable[Mapping[str, Any]]) -> list[M]:
    """Models of rows read otherwise, such as a statement's `json_agg` of whole rows.

    Only for models whose columns JSON carries as the driver answers them: text, integers,
    booleans (the rest, such as enums and timestamps, are converted from text anyway).
    """
    builder: _Builder[M] = _builder(model, connections.get("default").capabilities.dialect)
    return [builder.build(row) for row in rows]


def on_postgres() -> bool:
    """Whether the database is PostgreSQL (else SQLite: `payments dev`)."""
    return bool(connections.get("default").capabilities.dialect == "postgres")


async def _fetch(db: BaseDBAsyncClient, sql: str, values: Sequence[Any]) -> list[Mapping[str, Any]]:
    _, rows = await db.execute_query(_in_dialect(sql, db.capabilities.dialect), list(values))
    return cast("list[Mapping[str, Any]]", rows)


def model_from_row(model: type[M], row: Mapping[str, Any], db: BaseDBAsyncClient) -> M:
    """What `model._init_from_db(**row)` builds from a row of every column, at a third of its cost.

    Tortoise converts the columns in a generic loop and calls each enum class to find a
    member; here each model's conversions are looked up once, and an enum member by its
    value (a page of 20 payments spent 0.2 ms of its ~1 ms in Tortoise's, issue 31).
    """
    builder: _Builder[M] = _builder(model, db.capabilities.dialect)  # `db` read the row
    return builder.build(row)


@dataclass(frozen=True)
class _Builder(Generic[M]):
    """A model's columns, each with the conversion `Model._init_from_db` gives it."""

    model: type[M]
    native: tuple[tuple[str, str], ...]  # (column, attribute): as the driver answers it
    converted: tuple[tuple[str, str, Callable[[Any], Any]], ...]
    pk_custom: bool

    def build(self, row: Mapping[str, Any]) -> M:
        instance = self.model.__new__(self.model)
        attributes = instance.__dict__
        attributes["_partial"] = False
        attributes["_saved_in_db"] = True
        attributes["_custom_generated_pk"] = self.pk_custom
        attributes["_await_when_save"] = {}
        for column, name in self.native:
            attributes[name] = row[column]
        for column, name, convert in self.converted:
            attributes[name] = convert(row[column])
        return instance


@cache
def _builder(model: type[M], dialect: str) -> _Builder[M]:
    """Which columns are native and which converted depends on the connection's dialect."""
    meta = model._meta
    # A data descriptor (a property) named as a column would be bypassed by __dict__.
    names = [name for _, name, _ in (*meta.db_native_fields, *meta.db_complex_fields)]
    if any(hasattr(getattr(model, name, None), "__set__") for name in names):
        raise TypeError(f"{model.__name__} has a property named as a column")
    converted = [
        (column, name, _or_none(field.field_type)) for column, name, field in meta.db_default_fields
    ]
    for column, name, field in meta.db_complex_fields:
        if isinstance(field, CharEnumFieldInstance):
            converted.append((column, name, _enum_member(field.enum_type)))
        elif isinstance(field, DatetimeField | JSONField):  # both keep a null as it is
            converted.append((column, name, _or_none(field.to_python_value)))
        else:
            converted.append((column, name, field.to_python_value))
    return _Builder(
        model,
        tuple((column, name) for column, name, _ in meta.db_native_fields),
        tuple(converted),
        meta.db_pk_column not in meta.generated_db_fields,
    )


def _or_none(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else convert(value)


def _enum_member(enum_type: type[Enum]) -> Callable[[Any], Any]:
    members = enum_type._value2member_map_
    # A value that is no member's: the enum's call raises as Tortoise's conversion does.
    return lambda value: None if value is None else members.get(value) or enum_type(value)


async def every_row(query: QuerySet[M], batch: int) -> AsyncIterator[M]:
    """Every row `query` matches, read `batch` at a time in primary-key order.

    A sweep must reach them all: reading only the first `batch` would read the same rows
    on every run while those stay matched (a gateway that keeps failing for them), and
    never the ones behind.
    """
    key = query.model._meta.pk_attr
    after = query
    while True:
        rows = await after.order_by(key).limit(batch)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = query.filter(**{f"{key}__gt": rows[-1].pk})


def _db_values(row: Model, columns: Sequence[str]) -> list[Any]:
    fields = type(row)._meta.fields_map
    return [fields[name].to_db_value(getattr(row, name), row) for name in columns]


def _key_values(model: type[Model], equal: dict[str, Any]) -> list[Any] | None:
    """The values a lookup binds, or None when no row could hold them.

    Every id a client sends ends up here: one longer than its column (Tortoise refuses to
    bind it) or holding a NUL (PostgreSQL refuses the text) simply matches no row, whatever
    argument it came from, instead of failing the request.
    """
    try:
        values = _to_db(model, equal)
    except ValidationError:
        return None
    if any(isinstance(value, str) and not is_storable(value) for value in values):
        return None
    return values


def _to_db(model: type[Model], values: dict[str, Any]) -> list[Any]:
    fields = model._meta.fields_map
    return [fields[name].to_db_value(value, model) for name, value in values.items()]


@cache
def _insert_once_sql(
    model: type[Model], dialect: str, columns: tuple[str, ...], unique: tuple[str, ...]
) -> str:
    meta = model._meta
    # Typed as the generic builder; the PostgreSQL and SQLite builders both add RETURNING.
    insert: Any = meta.db.query_class.into(meta.basetable).columns(*columns)
    query = insert.insert(*("" for _ in columns)).on_conflict(*unique).do_nothing()
    return str(query.returning("id").get_parameterized_sql()[0])


@cache
def _select_one_sql(
    model: type[Model], dialect: str, columns: tuple[str, ...], for_update: bool
) -> str:
    meta = model._meta
    query: Any = meta.db.query_class.from_(meta.basetable)
    query = query.select(*meta.fields_db_projection.values())
    query = _where_equal(model, query, columns)
    if for_update:
        query = query.for_update()
    return str(query.get_parameterized_sql()[0])


@cache
def _update_where_sql(
    model: type[Model], dialect: str, changes: tuple[str, ...], columns: tuple[str, ...]
) -> str:
    meta = model._meta
    query: Any = meta.db.query_class.update(meta.basetable)
    for name in changes:
        query = query.set(meta.fields_db_projection[name], "")
    return str(_where_equal(model, query, columns).get_parameterized_sql()[0])


def _where_equal(model: type[Model], query: Any, columns: tuple[str, ...]) -> Any:
    # "" is a stand-in: only the placeholders it leaves in the SQL are kept.
    meta = model._meta
    for name in columns:
        query = query.where(meta.basetable[meta.fields_db_projection[name]] == "")
    return query


@cache
def _in_dialect(sql: str, dialect: str) -> str:
    return re.sub(r"\$(\d+)", r"?\1", sql) if dialect == "sqlite" else sql
