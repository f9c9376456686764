"""Scalars beyond GraphQL's own: Long for money totals, DateTime read as a UTC instant."""

from datetime import UTC, datetime
from typing import NewType

import strawberry
from graphql import GraphQLError
from strawberry.types.scalar import ScalarDefinition

# Signed 64 bits, as PostgreSQL's BIGINT sums and Stripe's integers are.
_LONG_MAX = 2**63 - 1


def _serialize(value: int) -> int:
    if not -_LONG_MAX - 1 <= value <= _LONG_MAX:
        raise ValueError("Long cannot represent a value outside 64 bits.")
    return int(value)


Long = NewType("Long", int)
# Registered in the schema's scalar_map (graph/schema.py), so `Long` stays a plain int type.
LONG_SCALAR = strawberry.scalar(
    name="Long",
    description=(
        "A signed 64-bit integer, sent as a JSON number: totals of amounts in minor units, "
        "which pass GraphQL's 32-bit Int at about 21 million dollars."
    ),
    serialize=_serialize,
    parse_value=_serialize,
)


def parse_datetime(value: object) -> datetime:
    """An ISO 8601 string as an aware UTC datetime; one without an offset is read as UTC.

    Every stored time is UTC, so the instant is converted here, once: an offset that pushes
    it past year 1 or 9999 (0001-01-01T00:00:00+01:00) is refused as input instead of
    overflowing later in the database driver. A GraphQLError, as graphql-core reports any
    value that does not fit its type (anything else would read as our fault).
    """
    if not isinstance(value, str):
        raise GraphQLError("DateTime must be an ISO 8601 string.")
    try:
        moment = datetime.fromisoformat(value)
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise GraphQLError(
            f"DateTime must be an ISO 8601 time between 0001-01-01 and 9999-12-31 UTC: "
            f"{value[:40]!r}."
        ) from None


# Replaces Strawberry's DateTime (same name and description, so the SDL is unchanged) for
# every datetime argument, input field and subscription filter alike.
DATETIME_SCALAR = ScalarDefinition(
    name="DateTime",
    description="Date with time (isoformat)",
    specified_by_url=None,
    serialize=datetime.isoformat,
    parse_value=parse_datetime,
    parse_literal=None,
    origin=datetime,
)
