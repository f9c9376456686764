"""Fuzz: every operation in schema.graphql, built by hypothesis-graphql, never ends as a 500."""

import json
from pathlib import Path

import graphql
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema

from payments.shared.auth import ALL_SCOPES
from tests.fuzz.bounds import BOUNDED
from tests.fuzz.hostile import SCALARS, response_problems
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
DOCUMENTS = {
    operation: from_schema(
        SCHEMA, fields=[operation.split(".")[1]], custom_scalars=SCALARS, codec=None
    )
    for operation in OPERATIONS
}


@pytest.mark.parametrize("operation", OPERATIONS)
@settings(BOUNDED, max_examples=50)
@given(data=st.data())
async def test_no_generated_operation_is_an_unexpected_error(server_client, operation, data):
    """Valid documents with hostile values: typed errors or data, never a 500 or a trace."""
    document = data.draw(DOCUMENTS[operation], label="document")
    bearer = data.draw(st.sampled_from(TOKENS), label="bearer")
    body = json.dumps({"query": document})  # ASCII-escaped: lone surrogates travel too
    response = await server_client.post(
        "/graphql",
        content=body,
        headers={"content-type": "application/json", "authorization": f"Bearer {bearer}"},
    )
    assert response_problems(response) == [], (document, response.text[:2000])
