"""What the fuzzers share: hostile values for the custom scalars, and what counts as a fault."""

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import graphql
import httpx
from hypothesis import strategies as st
from hypothesis_graphql import nodes

_NAMES = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,45}\Z")
_JSON_LEAVES = st.one_of(
    st.booleans().map(nodes.Boolean),
    st.integers().map(nodes.Int),
    st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
    st.text().map(nodes.String),
    st.just(graphql.NullValueNode()),
)
JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(nodes.List),
        st.dictionaries(_NAMES, children, max_size=60).map(
            lambda fields: nodes.Object(
                [
                    graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v)
                    for k, v in fields.items()
                ]
            )
        ),
    ),
    max_leaves=80,
)
# Offsets up to a day either way: at the ends of the range they push the instant past them.
_OFFSETS = st.one_of(
    st.none(),
    st.timedeltas(timedelta(hours=-23, minutes=-59), timedelta(hours=23, minutes=59)).map(timezone),
)
_EDGES = st.sampled_from([datetime.min, datetime.max, datetime(1970, 1, 1), datetime.now(UTC)])
DATETIMES = st.one_of(
    st.builds(lambda at, zone: at.replace(tzinfo=zone).isoformat(), _EDGES, _OFFSETS),
    st.builds(lambda at, zone: at.replace(tzinfo=zone).isoformat(), st.datetimes(), _OFFSETS),
    st.text(),
).map(nodes.String)
LONGS = st.one_of(st.integers(), st.integers(-(2**70), 2**70)).map(nodes.Int)
SCALARS: dict[str, Any] = {"JSON": JSON_VALUES, "DateTime": DATETIMES, "Long": LONGS}

FAILURE_MARKERS = ("Traceback", 'File "', "asyncpg", "tortoise", "psycopg", "SELECT ")


def internal_errors(status: int, text: str) -> list[str]:
    """What in a response reads as an internal error: a 5xx, a trace, or a masked error."""
    problems = [f"HTTP {status}"] if status >= 500 else []
    problems += [marker for marker in FAILURE_MARKERS if marker in text]
    try:
        body = json.loads(text)
    except ValueError:
        return problems
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors if isinstance(errors, list) else []:
        code = (error.get("extensions") or {}).get("code")
        if code == "INTERNAL_SERVER_ERROR" or error.get("message") == "Unexpected error.":
            problems.append(f"{code}: {error.get('message')}")
    return problems


def response_problems(response: httpx.Response) -> list[str]:
    return internal_errors(response.status_code, response.text)
