"""Every argument of every operation, one at a time, with values hostile to its type."""

import json
from pathlib import Path
from typing import Any

import graphql
import pytest

from payments.shared.auth import ALL_SCOPES
from tests.fuzz.hostile import response_problems
from tests.support import new_subject, token

SCHEMA = graphql.build_schema((Path(__file__).resolve().parents[2] / "schema.graphql").read_text())
_TEXT = {
    "nul": "a\u0000b",
    "lone-surrogate": "a\ud800b",
    "41-chars": "p" * 41,
    "101-chars": "p" * 101,
    "256-chars": "p" * 256,
    "10k-chars": "p" * 10_000,
    "blank": " ",
}
_NOT_AN_OBJECT = {"object": {"a": 1}, "list": [1, [2]]}
# By the leaf's type: text with NUL and over-long ids, numbers past 32 and 64 bits,
# DateTimes an offset pushes past the range, JSON that PostgreSQL or Stripe could refuse.
HOSTILE: dict[str, dict[str, Any]] = {
    "String": _TEXT,
    "ID": _TEXT,
    "Int": {"2^31": 2**31, "2^63": 2**63, "1e308": 1e308, "-1": -1, "1.5": 1.5, "text": "1"},
    "DateTime": {
        "min-offset": "0001-01-01T00:00:00+01:00",
        "max-offset": "9999-12-31T23:59:59-23:59",
        "min": "0001-01-01T00:00:00Z",
        "max": "9999-12-31T23:59:59.999999Z",
        "not-a-time": "yesterday",
        "number": 0,
    },
    "JSON": {
        "big": {"a": 2**70},
        "huge": {"a": 1e308},
        "nul": {"a\u0000": "\u0000"},
        "deep": json.loads("[" * 29 + "]" * 29),
        "text": "a" * 10_000,
    },
    "Boolean": {"text": "true", "number": 1},
    "enum": {"unknown": "NOPE", "number": 1},
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


def _leaf_paths(type_: graphql.GraphQLInputType, path: tuple[str, ...]) -> list[Any]:
    """(path, kind) of each scalar or enum place under `type_`, through input objects."""
    named = _plain(type_)
    if isinstance(named, graphql.GraphQLInputObjectType):
        return [
            found
            for name, field in named.fields.items()
            for found in _leaf_paths(field.type, (*path, name))
        ]
    kind = "enum" if isinstance(named, graphql.GraphQLEnumType) else named.name
    return [(path, kind)]


def _cases() -> list[Any]:
    cases = []
    for kind, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type)):
        for field_name, field in root.fields.items():  # type: ignore[union-attr]
            for arg_name, arg in field.args.items():
                for path, leaf in _leaf_paths(arg.type, (arg_name,)):
                    for label, hostile in (HOSTILE[leaf] | _NOT_AN_OBJECT).items():
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


def _variables(field: graphql.GraphQLField, path: tuple[str, ...], hostile: Any) -> dict[str, Any]:
    """Required arguments plausible (optional ones null), and `hostile` placed at `path`."""
    variables = {
        name: _value(arg.type)
        for name, arg in field.args.items()
        if graphql.is_required_argument(arg) or name == path[0]
    }
    target: Any = variables
    for step in path[:-1]:
        target = target.setdefault(step, {})
    target[path[-1]] = hostile
    return variables


@pytest.mark.parametrize(("kind", "field_name", "path", "hostile"), _cases())
async def test_a_hostile_value_in_any_argument_is_never_an_internal_error(
    logged_api, logged_client, kind, field_name, path, hostile
):
    """NUL or over-long ids, odd numbers, DateTimes or JSON in one argument: data or an error."""
    root = SCHEMA.query_type if kind == "query" else SCHEMA.mutation_type
    field = root.fields[field_name]  # type: ignore[union-attr]
    body = {
        "query": _document(kind, field_name, field),
        "variables": _variables(field, path, hostile),
    }
    logged = logged_api.written()
    response = await logged_client.post(
        "/graphql",
        content=json.dumps(body),  # ASCII-escaped: the lone surrogate travels too
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {token(new_subject(), ALL_SCOPES)}",
        },
    )
    assert response_problems(response) == [], response.text[:1000]
    assert logged_api.error_lines(since=logged) == []
