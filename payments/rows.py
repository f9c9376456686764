"""Create-once inserts: INSERT ... ON CONFLICT DO NOTHING RETURNING id for a model row."""

from collections.abc import Sequence
from typing import Any

from tortoise.models import Model


async def insert_once(row: Model, columns: Sequence[str], unique: Sequence[str]) -> int | None:
    """Insert `row`'s `columns` unless a row with the same `unique` columns exists.

    Returns the new row's id, or None when the row was already there. A concurrent
    insert of the same row waits for the first one's commit and then inserts nothing,
    so callers race-free decide who created it, without an exception or an error line
    in PostgreSQL's log.
    """
    meta = type(row)._meta
    values = [meta.fields_map[name].to_db_value(getattr(row, name), row) for name in columns]
    # Typed as the generic builder; the PostgreSQL and SQLite builders both add RETURNING.
    insert: Any = meta.db.query_class.into(meta.basetable).columns(*columns)
    query = insert.insert(*values).on_conflict(*unique).do_nothing().returning("id")
    inserted = await meta.db.execute_query_dict(*query.get_parameterized_sql())
    return int(inserted[0]["id"]) if inserted else None
