"""Every text argument of every query and mutation, one at a time, with NUL and over-long ids."""

import json
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest

from payments.shared.auth import ALL_SCOPES
from tests.fuzz.hostile import response_problems
from tests.support import new_subject, token

SCHEMA = graphql.build_schema((Path(__file__).resolve().parents[2] / "schema.graphql").read_text())
HOSTILE = {
    "nul": "a\u0000b",
    "lone-surrogate": "a\ud800b",
    "41-chars": "p" * 41,
    "256-chars": "p" * 256,
    "10k-chars": "p" * 10_000,
    "blank": " ",
}
PLAUSIBLE: dict[str, Any] = {
    "String": "x",
    "ID": "pay_x",
    "Int": 1,
    "Boolean": False,
    "DateTime": "2026-01-01T00:00:00Z",
    "JSON": {},
}


def _plain(type_: graphql.GraphQLInputType) -> graphql.GraphQLNamedType:
    return graphql.get_named_type(type_)  # type: ignore[no-any-return]


def _value(type_: graphql.GraphQLInputType) -> Any:
    """A plausible value of `type_`: required input fields filled, optional ones left out."""
    named = _plain(type_)
    if isinstance(named, graphql.GraphQLEnumType):
        value: Any = next(iter(named.values))
    elif isinstance(named, graphql.GraphQLInputObjectType):
        value = {
            name: _value(field.type)
            for name, field in named.fields.items()
            if graphql.is_required_input_field(field)
        }
    else:
        value = PLAUSIBLE[named.name]
    return [value] if isinstance(graphql.get_nullable_type(type_), graphql.GraphQLList) else value


def _text_paths(
    type_: graphql.GraphQLInputType, path: tuple[str, ...]
) -> list[tuple[tuple[str, ...], graphql.GraphQLInputType]]:
    """The String and ID places under `type_`, by path (lists are left alone)."""
    named = _plain(type_)
    if isinstance(graphql.get_nullable_type(type_), graphql.GraphQLList):
        return []
    if isinstance(named, graphql.GraphQLInputObjectType):
        return [
            found
            for name, field in named.fields.items()
            for found in _text_paths(field.type, (*path, name))
        ]
    return [(path, type_)] if named.name in {"String", "ID"} else []


def _cases() -> list[Any]:
    cases = []
    for root, kind in ((SCHEMA.query_type, "query"), (SCHEMA.mutation_type, "mutation")):
        assert root is not None
        for field_name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                for path, _ in _text_paths(arg.type, (arg_name,)):
                    for label, hostile in HOSTILE.items():
                        case_id = f"{field_name}.{'.'.join(path)}-{label}"
                        cases.append(pytest.param(kind, field_name, path, hostile, id=case_id))
    return cases


def _document(kind: str, field_name: str, field: graphql.GraphQLField) -> str:
    """`field` with every argument a variable, selecting only `__typename`."""
    declared = ", ".join(f"${name}: {arg.type}" for name, arg in field.args.items())
    passed = ", ".join(f"{name}: ${name}" for name in field.args)
    head = f"{kind}({declared})" if declared else kind
    call = f"{field_name}({passed})" if passed else field_name
    return f"{head} {{ {call} {{ __typename }} }}"


def _variables(field: graphql.GraphQLField, path: tuple[str, ...], hostile: str) -> dict[str, Any]:
    variables = {name: _value(arg.type) for name, arg in field.args.items()}
    target: Any = variables
    for step in path[:-1]:
        target = target.setdefault(step, {})
    target[path[-1]] = hostile
    return variables


@pytest.mark.parametrize(("kind", "field_name", "path", "hostile"), _cases())
async def test_hostile_text_in_any_argument_is_never_an_internal_error(
    logged_api, kind, field_name, path, hostile
):
    """NUL, lone surrogates and over-long ids in any one argument: data or a typed error."""
    root = SCHEMA.query_type if kind == "query" else SCHEMA.mutation_type
    field = root.fields[field_name]  # type: ignore[union-attr]
    body = {
        "query": _document(kind, field_name, field),
        "variables": _variables(field, path, hostile),
    }
    logged = logged_api.written()
    async with httpx.AsyncClient(base_url=logged_api.url, timeout=30) as client:
        response = await client.post(
            "/graphql",
            content=json.dumps(body),  # ASCII-escaped: the lone surrogate travels too
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {token(new_subject(), ALL_SCOPES)}",
            },
        )
    assert response_problems(response) == [], response.text[:1000]
    assert logged_api.error_lines(since=logged) == []
