"""The floor of a GraphQL read here: rows 1 and 2's documents executed over data in memory.

No HTTP, no database, no model: only GraphQL execution, once with graphql-core alone (the
schema in SDL, dicts as values) and once with Strawberry over plain types of the same
shape, each document parsed and validated once, as the API's document cache does. Beside
the raw baseline's CPU per read (the whole request, its query included), it says how
close any API on this stack can come to the baseline, whatever else it removes.
"""

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from graphql import ExecutionResult, build_schema, execute, parse, validate
from strawberry.extensions import ParserCache, ValidationCache

ONE = '{ payment(id: "pay_1") { id status amount currency version } }'
# Row 2's page: 20 payments, each with no refund and the two events of a charge.
PAGE = "{ payments(first: 20) { nodes { id status refunds { amount } events { status } } } }"
PAGE_SIZE = 20
ROUNDS, CALLS = 5, 400

SDL = """
type Query { payment(id: ID!): Payment  payments(first: Int!): Page! }
type Page { nodes: [Payment!]! }
type Payment { id: ID! status: PaymentStatus! amount: Int! currency: String! version: Int!
  refunds: [Refund!]! events: [PaymentEvent!]! }
type Refund { amount: Int! }
type PaymentEvent { status: PaymentStatus! }
enum PaymentStatus { PENDING SUCCEEDED }
"""


@strawberry.enum
class PaymentStatus(enum.Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"


@strawberry.type
class Refund:
    amount: int


@strawberry.type
class PaymentEvent:
    status: PaymentStatus


@strawberry.type
class Payment:
    id: strawberry.ID
    status: PaymentStatus
    amount: int
    currency: str
    version: int
    refunds: list[Refund]
    events: list[PaymentEvent]


@strawberry.type
class Page:
    nodes: list[Payment]


PAYMENTS = [
    Payment(
        id=strawberry.ID(f"pay_{n:028d}"),
        status=PaymentStatus.SUCCEEDED,
        amount=1500,
        currency="USD",
        version=2,
        refunds=[],
        events=[
            PaymentEvent(status=PaymentStatus.PENDING),
            PaymentEvent(status=PaymentStatus.SUCCEEDED),
        ],
    )
    for n in range(PAGE_SIZE)
]


@strawberry.type
class Query:
    @strawberry.field
    async def payment(self, id: strawberry.ID) -> Payment | None:
        return PAYMENTS[0]

    @strawberry.field
    async def payments(self, first: int) -> Page:
        return Page(nodes=PAYMENTS[:first])


def _core_schema() -> Any:
    schema = build_schema(SDL)
    rows = [
        {
            "id": p.id,
            "status": "SUCCEEDED",
            "amount": 1500,
            "currency": "USD",
            "version": 2,
            "refunds": [],
            "events": [{"status": "PENDING"}, {"status": "SUCCEEDED"}],
        }
        for p in PAYMENTS
    ]

    async def payment(_: object, __: object, id: str) -> dict[str, Any]:
        return rows[0]

    async def payments(_: object, __: object, first: int) -> dict[str, Any]:
        return {"nodes": rows[:first]}

    schema.query_type.fields["payment"].resolve = payment
    schema.query_type.fields["payments"].resolve = payments
    return schema


async def _cpu_ms(run: Callable[[], Awaitable[ExecutionResult]]) -> float:
    """The least CPU ms per call over ROUNDS rounds (the least disturbed by neighbours)."""
    result = await run()
    assert not result.errors, result.errors
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(CALLS):
            await run()
        best = min(best, (time.process_time() - started) / CALLS * 1000)
    return best


async def floor_costs() -> dict[str, dict[str, float]]:
    """CPU ms per execution of each document: {"payment(id)"|"page": {engine: ms}}."""
    core = _core_schema()
    strawberry_schema = strawberry.Schema(Query, extensions=[ParserCache, ValidationCache])
    costs: dict[str, dict[str, float]] = {}
    for name, text in (("payment(id)", ONE), ("page", PAGE)):
        document = parse(text)
        assert not validate(core, document)

        async def core_run(document: Any = document) -> ExecutionResult:
            result = execute(core, document)
            return await result if asyncio.iscoroutine(result) else result  # type: ignore[return-value]

        async def strawberry_run(text: str = text) -> ExecutionResult:
            return await strawberry_schema.execute(text)

        costs[name] = {
            "graphql-core": await _cpu_ms(core_run),
            "strawberry": await _cpu_ms(strawberry_run),
        }
    return costs
