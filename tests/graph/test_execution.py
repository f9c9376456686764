"""The executor's short paths for plain fields answer exactly as graphql-core's path does.

Each document runs twice over the same objects: through Strawberry's own executor and
through ours. Data, error messages, paths and locations must be equal, the faults
included (null in a non-null field, a value outside an enum, an exception as a value, an
object of another type, a value read beforehand that was not).
"""

from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.execution import PRELOADED, reading_plain_fields
from graph.schema import build_schema


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Leaf(Named):
    count: int | None
    colour: Colour
    at: datetime | None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


@strawberry.type
class Stone:
    name: str


# How often Branch.read_later's resolver ran: the short path must not call it when read.
CALLS: list[str] = []


@strawberry.type
class Branch:
    leaf: Leaf
    leaves: list[Leaf]
    maybe: Leaf | None
    gaps: list[Leaf | None]
    _read: strawberry.Private[list[Leaf] | None] = None
    _one_read: strawberry.Private[Leaf | None] = None

    @strawberry.field(metadata={PRELOADED: "_read"})
    def read_later(self) -> list[Leaf]:
        CALLS.append("read_later")
        return self._read if self._read is not None else [_leaf("from the resolver")]

    @strawberry.field(metadata={PRELOADED: "_one_read"})
    def one_read_later(self) -> Leaf | None:
        return self._one_read if self._one_read is not None else _leaf("from the resolver")


def _leaf(name: Any = "a", colour: Any = Colour.RED, count: Any = 1) -> Leaf:
    return Leaf(name=name, count=count, colour=colour, at=datetime(2026, 12, 7, tzinfo=UTC))


def _branch(**fields: Any) -> Branch:
    return Branch(
        **{
            "leaf": _leaf(),
            "leaves": [_leaf("b", Colour.BLUE, None), _leaf("c")],
            "maybe": None,
            "gaps": [_leaf("d"), None],
            **fields,
        }
    )


@strawberry.type
class Query:
    @strawberry.field
    def branch(self) -> Branch:
        return _branch(_read=[_leaf("read before")], _one_read=_leaf("read before"))

    @strawberry.field
    def unread(self) -> Branch:
        return _branch()

    @strawberry.field
    def broken(self) -> Branch:
        # What a bug in a type's construction would hand the executor.
        leaves = [_leaf(name=None), _leaf(colour="green"), _leaf(count=ValueError("no count"))]
        return _branch(leaves=leaves, maybe=_leaf(name=None), gaps=[None, _leaf(name=None)])

    @strawberry.field
    def misshapen(self) -> Branch:
        # An object of another type in a list, a generator for a list whose second item is
        # broken (read once only), null for a non-null object.
        gaps = (leaf for leaf in [_leaf(), _leaf(name=None)])
        return _branch(leaves=[_leaf(), Stone(name="s")], gaps=gaps, leaf=None)

    @strawberry.field
    def holes(self) -> Branch:
        return _branch(leaves=[_leaf(), None])  # null in a list of non-null items

    @strawberry.field
    async def later(self) -> Leaf:
        return _leaf("later")


DOCUMENTS = [
    "{ branch { leaf { name count colour at shout } leaves { name count } maybe { name } } }",
    "{ branch { leaf { n: name name n2: name } leaves { ...L } } } fragment L on Leaf { colour }",
    "{ branch { leaf { __typename name } } later { name colour at } }",
    "{ branch { readLater { name } gaps { name __typename } } unread { readLater { name } } }",
    "{ branch { oneReadLater { name } } unread { oneReadLater { name } } }",
    "{ branch { leaves { ... on Named { name } } leaf { ... on Leaf { count } } } }",
    "{ broken { leaves { name } } }",  # null in a non-null field: the list is lost
    "{ broken { leaves { colour } } }",  # not one of the enum's values
    "{ broken { leaves { count } } }",  # an exception as the value
    "{ broken { maybe { name } leaf { name } } }",  # propagates to the nullable parent only
    "{ broken { gaps { name } } }",  # a null item in a nullable list, then a broken one
    "{ misshapen { leaves { name } } }",
    "{ misshapen { gaps { name } } }",
    "{ misshapen { readLater { name } oneReadLater { name } } }",
    "{ holes { leaves { name } } }",
    "{ misshapen { leaf { name } } }",
    "query ($skip: Boolean!) { branch { leaf { name @skip(if: $skip) count } } }",
    "query ($skip: Boolean!) { branch { leaves @include(if: $skip) { name } leaf { name } } }",
]


def _answer(result: Any) -> tuple[Any, list[dict[str, Any]]]:
    return result.data, [error.formatted for error in result.errors or ()]


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_plain_fields_answer_as_graphql_core_does(document: str) -> None:
    schema = strawberry.Schema(Query, types=[Stone])
    ours = reading_plain_fields(schema._schema)
    answers = []
    for executor in (StrawberryGraphQLCoreExecutionContext, ours):
        schema.execution_context_class = executor
        answers.append(_answer(await schema.execute(document, variable_values={"skip": False})))
    assert answers[0] == answers[1]
    assert answers[0][0] is not None or answers[0][1]


@pytest.mark.parametrize(
    ("document", "first"),
    [
        (
            "{ branch { leaves @stream(initialCount: 1) { name } leaf { name } } }",
            {"branch": {"leaves": [{"name": "b"}], "leaf": {"name": "a"}}},
        ),
        ("{ later { ... @defer { name } } }", {"later": {}}),
        ("{ branch { leaf { name ... @defer { count } } } }", {"branch": {"leaf": {"name": "a"}}}),
        (
            "{ branch { leaf { name } ... @defer { leaf { count } } } }",
            {"branch": {"leaf": {"name": "a"}}},
        ),
    ],
)
async def test_streamed_and_deferred_fields_are_left_to_graphql_core(
    document: str, first: dict[str, Any]
) -> None:
    """With incremental delivery on, @stream and @defer answer as graphql-core's path does."""
    config = StrawberryConfig(enable_experimental_incremental_execution=True)
    schema = strawberry.Schema(Query, config=config)
    ours = reading_plain_fields(schema._schema)
    answers = []
    for executor in (StrawberryGraphQLCoreExecutionContext, ours):
        schema.execution_context_class = executor
        result: Any = await schema.execute(document)
        answers.append(
            [result.initial_result.formatted]
            + [part.formatted async for part in result.subsequent_results]
        )
    assert answers[0] == answers[1]
    assert answers[0][0]["data"] == first


async def test_objects_of_plain_fields_are_answered_without_graphql_cores_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the root field goes through graphql-core; a value read beforehand skips its resolver."""
    schema = strawberry.Schema(Query)
    schema.execution_context_class = reading_plain_fields(schema._schema)
    executed: list[str] = []
    general = StrawberryGraphQLCoreExecutionContext.execute_field

    def counted(self: Any, parent_type: Any, source: Any, details: Any, *rest: Any) -> Any:
        executed.append(f"{parent_type.name}.{details[0].node.name.value}")
        return general(self, parent_type, source, details, *rest)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", counted)
    CALLS.clear()
    document = "{ branch { leaf { name colour } leaves { at } readLater { __typename name } } }"
    result = await schema.execute(document)
    assert result.errors is None
    assert result.data["branch"]["readLater"] == [{"__typename": "Leaf", "name": "read before"}]
    assert executed == ["Query.branch"]
    assert CALLS == []
    # Not read beforehand: the resolver answers, through graphql-core's path.
    result = await schema.execute("{ unread { readLater { name } } }")
    assert result.data == {"unread": {"readLater": [{"name": "from the resolver"}]}}
    assert CALLS == ["read_later"]
    assert executed[1:] == ["Query.unread", "Branch.readLater"]


def test_the_payment_schemas_plain_fields_take_the_short_path() -> None:
    """Payment's stored attributes and the page's children are read directly; the rest not."""
    schema = build_schema()
    plain = schema.execution_context_class.plain_fields  # type: ignore[attr-defined]
    assert {("Payment", "id"), ("Payment", "status"), ("Refund", "amount")} <= plain.keys()
    assert {("PaymentConnection", "nodes"), ("Payment", "refunds"), ("Payment", "events")} <= (
        plain.keys()
    )
    assert ("Payment", "clientSecret") not in plain
    assert ("Payment", "disputes") not in plain
