"""Fuzz: every operation in schema.graphql, built by hypothesis-graphql, never ends as a 500."""

import json
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, nodes

from payments.shared.auth import ALL_SCOPES
from tests.fuzz.bounds import BOUNDED
from tests.support import new_subject, token

SCHEMA = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text()
OPERATIONS = sorted(
    f"{root}.{name}"
    for root, fields in (
        ("Query", graphql.build_schema(SCHEMA).query_type.fields),  # type: ignore[union-attr]
        ("Mutation", graphql.build_schema(SCHEMA).mutation_type.fields),  # type: ignore[union-attr]
    )
    for name in fields
)
# Some real ids next to random text, so that some documents reach a stored row.
SUBJECTS = [new_subject(), new_subject()]
TOKENS = [token(SUBJECTS[0]), token(SUBJECTS[1], ALL_SCOPES)]
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
SCALARS: dict[str, Any] = {
    "JSON": JSON_VALUES,
    "DateTime": st.one_of(st.datetimes().map(lambda d: d.isoformat()), st.text()).map(nodes.String),
}
FAILURE_MARKERS = ("Traceback", 'File "', "asyncpg", "tortoise", "psycopg", "SELECT ")


def _problems(response: httpx.Response) -> list[str]:
    problems = [f"HTTP {response.status_code}"] if response.status_code >= 500 else []
    problems += [marker for marker in FAILURE_MARKERS if marker in response.text]
    if response.headers.get("content-type", "").startswith("application/json"):
        for error in response.json().get("errors") or []:
            if (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR":
                problems.append(f"INTERNAL_SERVER_ERROR: {error.get('message')}")
    return problems


DOCUMENTS = {
    operation: from_schema(
        SCHEMA, fields=[operation.split(".")[1]], custom_scalars=SCALARS, codec=None
    )
    for operation in OPERATIONS
}


@pytest.mark.parametrize("operation", OPERATIONS)
@settings(BOUNDED, max_examples=50)
@given(data=st.data())
async def test_no_generated_operation_is_an_unexpected_error(server, operation, data):
    """Valid documents with hostile values: typed errors or data, never a 500 or a trace."""
    document = data.draw(DOCUMENTS[operation], label="document")
    bearer = data.draw(st.sampled_from(TOKENS), label="bearer")
    body = json.dumps({"query": document})  # ASCII-escaped: lone surrogates travel too
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        response = await client.post(
            "/graphql",
            content=body,
            headers={"content-type": "application/json", "authorization": f"Bearer {bearer}"},
        )
    assert _problems(response) == [], (document, response.text[:2000])
