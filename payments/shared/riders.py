"""A write that commits with another one: one more step of its statement on PostgreSQL."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient


@dataclass(frozen=True)
class Rider:
    """A data-modifying WITH step that rides on the statement writing a row.

    `sql` reads the written row from the step named `{source}` and numbers its own
    parameters {0}, {1}, ...; it changes nothing when that step wrote nothing. Where
    data-modifying WITH is unavailable (SQLite), `fallback` makes the same write through
    the ORM in the caller's transaction, given the written row's id.
    """

    sql: str
    values: tuple[Any, ...]
    fallback: Callable[[BaseDBAsyncClient, str], Awaitable[None]]

    def step(self, first: int, source: str) -> str:
        """`, rider AS (...)`, its parameters numbered from `first`."""
        positions = (f"${n}" for n in range(first, first + len(self.values)))
        return f", rider AS ({self.sql.format(*positions, source=source)})"
