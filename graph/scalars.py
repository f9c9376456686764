"""Scalars beyond GraphQL's own: Long, for money totals that outgrow a 32-bit Int."""

from typing import NewType

import strawberry

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
