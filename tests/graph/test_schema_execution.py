"""One operation over HTTP (PaymentsSchema.execute) is answered as Strawberry's own path answers it.

PaymentsSchema.execute does the document cache's and the operation gate's work itself,
without Strawberry's per-request extension runner, which WebSocket streams still use: both
paths must keep giving the same answers, the same refusals and the same errors raised.
"""

import random
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from strawberry.http import process_result
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from graph.schema import PaymentsSchema, build_schema
from payments.shared.auth import Principal
from payments.shared.errors import RateLimited, Unauthenticated
from tests.graph.protection.invented_documents import invented_document

ONE_RESULT = {OperationType.QUERY, OperationType.MUTATION}
PAYMENT = "query Read($id: ID!) { payment(id: $id) { id status } }"
REFUND = (
    'mutation { refundPayment(input: {paymentId: "p"}, idempotencyKey: "k") { refund { id } } }'
)
DOCUMENTS: list[tuple[str | None, dict[str, Any] | None, str | None]] = [
    ("{ __typename }", None, None),  # nothing awaits: graphql-core answers synchronously
    ('{ payment(id: "pay_1") { id } }', None, None),
    (PAYMENT, {"id": "pay_1"}, None),
    (PAYMENT, {}, None),  # a variable missing
    (PAYMENT, {"id": {"an": "object"}}, None),  # a variable of the wrong shape
    (f"query First {{ __typename }} {PAYMENT}", {"id": "pay_1"}, None),  # the first one runs
    (f"query First {{ __typename }} {PAYMENT}", {"id": "pay_1"}, "Read"),
    (f"query First {{ __typename }} {PAYMENT}", {"id": "pay_1"}, "Absent"),
    (f"query First {{ __typename }} {PAYMENT}", {"id": "pay_1"}, ""),
    (f"{{ __typename }} {PAYMENT}", {"id": "pay_1"}, None),  # anonymous among several
    ("fragment Only on Query { __typename }", None, None),  # no operation at all
    ('subscription { paymentUpdated(id: "pay_1") { id } }', None, None),
    (REFUND, None, None),
    ("{ invented }", None, None),
    ("{ payment(", None, None),  # unparsable
    ("{ " + "__typename " * 1200 + "}", None, None),  # past the token limit
    ("", None, None),
    (None, None, None),
]
rng = random.Random(31)
DOCUMENTS += [(invented_document(rng, index), None, None) for index in range(150)]


class Caller:
    """What execution asks of a context: a caller nobody authenticated, or one out of budget."""

    def __init__(self, *, out_of_budget: bool) -> None:
        self.out_of_budget = out_of_budget
        self.known_principal = None
        self.runtime = SimpleNamespace(rate_limiter=self)

    async def principal(self) -> Principal:
        if not self.out_of_budget:
            raise Unauthenticated("Authentication required.")
        return Principal(sub="customer-1")

    async def check(self, sub: str, *, moves_money: bool) -> None:
        raise RateLimited(retry_after_seconds=7)


async def _answer(execute: Any, schema: PaymentsSchema, document: Any, out_of_budget: bool):
    variables, name = document[1], document[2]
    try:
        result = await execute(
            schema, document[0], variables, Caller(out_of_budget=out_of_budget), operation_name=name
        )
    except Exception as raised:
        return ("raised", type(raised).__name__, str(raised))
    return (isinstance(result, PreExecutionError), process_result(result))


async def _strawberry_execute(schema: PaymentsSchema, query: Any, *args: Any, **kwargs: Any):
    """Strawberry's own path, its extensions run, with HTTP's allowed types (no subscriptions)."""
    return await strawberry.Schema.execute(
        schema, query, *args, allowed_operation_types=ONE_RESULT, **kwargs
    )


@pytest.mark.parametrize("out_of_budget", [False, True], ids=["unauthenticated", "out-of-budget"])
async def test_http_operations_are_answered_as_strawberrys_own_path_answers_them(out_of_budget):
    ours, strawberrys = build_schema(), build_schema()  # each shapes its own cached errors
    differ = []
    for document in DOCUMENTS:
        expected = await _answer(_strawberry_execute, strawberrys, document, out_of_budget)
        answered = await _answer(PaymentsSchema.execute, ours, document, out_of_budget)
        if document[0] and document[0].startswith("subscription"):
            # Refused before Strawberry would even look: over HTTP a subscription needs a WebSocket.
            assert answered[:2] == ("raised", "SubscriptionNeedsWebSocket")
            assert expected[:2] == ("raised", "InvalidOperationTypeError")
        elif answered != expected:
            differ.append((document, expected, answered))
    assert differ == []
