"""Keyset pages over integer row ids, newest first, behind opaque cursors."""

import base64
import binascii
from dataclasses import dataclass
from typing import Generic, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from payments.shared.errors import ValidationFailed

M = TypeVar("M", bound=Model)
MAX_PAGE_SIZE = 100
# Larger than any BIGINT: such a cursor cannot name a row, and would overflow the query.
_MAX_ROW_ID = 2**63 - 1


@dataclass(frozen=True)
class Page(Generic[M]):
    rows: list[M]
    has_next_page: bool
    kind: str

    @property
    def cursors(self) -> list[str]:
        return [encode_cursor(self.kind, row.pk) for row in self.rows]

    @property
    def end_cursor(self) -> str | None:
        return encode_cursor(self.kind, self.rows[-1].pk) if self.rows else None


def encode_cursor(kind: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).decode()


def decode_cursor(kind: str, cursor: str) -> int:
    """The row id inside one of our cursors of `kind`; ValidationFailed for anything else."""
    try:
        found, _, raw_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        found, raw_id = "", ""
    row_id = parse_row_id(raw_id)
    if found != kind or row_id is None:
        raise ValidationFailed("Invalid pagination cursor.", field="after")
    return row_id


def parse_row_id(text: str) -> int | None:
    """The integer row id `text` spells, or None when no BIGINT row could have it."""
    if not text.isascii() or not text.isdigit() or int(text) > _MAX_ROW_ID:
        return None
    return int(text)


async def page_by_id(query: QuerySet[M], kind: str, first: int, after: str | None) -> Page[M]:
    """One page of `query`, newest (highest id) first, continuing after the cursor `after`."""
    if not 0 < first <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"first must be between 1 and {MAX_PAGE_SIZE}.", field="first")
    if after:
        query = query.filter(id__lt=decode_cursor(kind, after))
    rows = await query.order_by("-id").limit(first + 1)
    return Page(rows=rows[:first], has_next_page=len(rows) > first, kind=kind)
