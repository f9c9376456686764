"""The executor's short path for plain leaves answers exactly as graphql-core's path does.

Each document runs twice over the same objects: through Strawberry's own executor and
through ours. Data, error messages, paths and locations must be equal, the faults
included (null in a non-null field, a value outside an enum, an exception as a value).
"""

from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.execution import reading_plain_leaves
from graph.schema import build_schema


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf:
    name: str
    count: int | None
    colour: Colour
    at: datetime | None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Branch:
    leaf: Leaf
    leaves: list[Leaf]
    maybe: Leaf | None


def _leaf(name: Any = "a", colour: Any = Colour.RED, count: Any = 1) -> Leaf:
    return Leaf(name=name, count=count, colour=colour, at=datetime(2026, 12, 7, tzinfo=UTC))


@strawberry.type
class Query:
    @strawberry.field
    def branch(self) -> Branch:
        return Branch(leaf=_leaf(), leaves=[_leaf("b", Colour.BLUE, None), _leaf("c")], maybe=None)

    @strawberry.field
    def broken(self) -> Branch:
        # What a bug in a type's construction would hand the executor.
        leaves = [_leaf(name=None), _leaf(colour="green"), _leaf(count=ValueError("no count"))]
        return Branch(leaf=_leaf(), leaves=leaves, maybe=_leaf(name=None))

    @strawberry.field
    async def later(self) -> Leaf:
        return _leaf("later")


DOCUMENTS = [
    "{ branch { leaf { name count colour at shout } leaves { name count } maybe { name } } }",
    "{ branch { leaf { n: name name n2: name } leaves { ...L } } } fragment L on Leaf { colour }",
    "{ branch { leaf { __typename name } } later { name colour at } }",
    "{ broken { leaves { name } } }",  # null in a non-null field: the list is lost
    "{ broken { leaves { colour } } }",  # not one of the enum's values
    "{ broken { leaves { count } } }",  # an exception as the value
    "{ broken { maybe { name } leaf { name } } }",  # propagates to the nullable parent only
    "query ($skip: Boolean!) { branch { leaf { name @skip(if: $skip) count } } }",
]


def _answer(result: Any) -> tuple[Any, list[dict[str, Any]]]:
    return result.data, [error.formatted for error in result.errors or ()]


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_plain_leaves_answer_as_graphql_core_does(document: str) -> None:
    schema = strawberry.Schema(Query)
    ours = reading_plain_leaves(schema._schema)
    answers = []
    for executor in (StrawberryGraphQLCoreExecutionContext, ours):
        schema.execution_context_class = executor
        answers.append(_answer(await schema.execute(document, variable_values={"skip": False})))
    assert answers[0] == answers[1]
    assert answers[0][0] is not None or answers[0][1]


def test_the_payment_schemas_plain_fields_take_the_short_path() -> None:
    """Payment's stored attributes are read directly; fields with resolvers are not."""
    schema = build_schema()
    plain = schema.execution_context_class.plain_leaves  # type: ignore[attr-defined]
    assert {("Payment", "id"), ("Payment", "status"), ("Refund", "amount")} <= plain.keys()
    assert ("Payment", "clientSecret") not in plain
    assert ("Payment", "refunds") not in plain
