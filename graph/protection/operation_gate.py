"""The operation gate: each operation's metrics and log context, and its rate-limit budgets."""

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import structlog
from graphql import DocumentNode, ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension

from graph.protection.limits import CHARGING_MUTATIONS, selected_root_fields
from payments.shared import metrics
from payments.shared.errors import RateLimited, Unauthenticated

# Documents that never executed (unparsable, invalid, of a refused operation type) and
# those that select only meta fields such as __typename.
UNKNOWN = "unknown"
# Documents that select two or more of the schema's root fields.
MULTIPLE = "multiple"


class OperationGate(SchemaExtension):
    """A GatedOperation for each operation Strawberry runs through its extensions (streams).

    One extension for both the metrics and the budgets, as Strawberry builds each
    extension's hooks anew on every request, and both need the operation's root fields.
    """

    def on_operation(self) -> Iterator[None]:
        self.gate = GatedOperation()
        yield
        result = self.execution_context.result
        self.gate.record(failed=result is None or bool(result.errors))

    async def on_execute(self) -> AsyncIterator[None]:
        # Strawberry calls this only once the document has passed validation.
        context = self.execution_context
        refused = await self.gate.admit(
            context.context, context.graphql_document, context.operation_name
        )
        if refused is not None:
            context.result = ExecutionResult(data=None, errors=[refused])
        yield


class GatedOperation:
    """Labels, counts and times one operation, and charges its root fields to budgets."""

    def __init__(self) -> None:
        self.label = UNKNOWN
        self.started = time.perf_counter()

    async def admit(
        self, context: Any, document: DocumentNode | None, operation_name: str | None
    ) -> GraphQLError | None:
        """Label a validated document's operation; the error if a budget refuses it."""
        fields = selected_root_fields(document, operation_name)
        self.label = operation_label(fields)
        structlog.contextvars.bind_contextvars(operation=self.label)
        return await budget_refusal(context, fields)

    def record(self, *, failed: bool) -> None:
        """Count and time the operation, by label and outcome."""
        outcome = "error" if failed else "ok"
        metrics.GRAPHQL_OPERATIONS.labels(self.label, outcome).inc()
        metrics.GRAPHQL_DURATION.labels(self.label).observe(time.perf_counter() - self.started)


def operation_label(root_fields: list[str]) -> str:
    """The operation's label in metrics and log lines: its one root field, or `multiple`.

    Only a name the schema defines becomes a label, never text a client chose (aliases,
    operation or fragment names) nor a combination of fields (2^n of them): the labels
    are the schema's root fields, `multiple` and `unknown`, whatever clients send.
    `root_fields` are those of a validated document, so each is a schema field.
    """
    fields = {name for name in root_fields if not name.startswith("__")}
    if len(fields) == 1:
        return fields.pop()
    return MULTIPLE if fields else UNKNOWN


async def budget_refusal(context: Any, root_fields: list[str]) -> GraphQLError | None:
    """Spend a unit of the caller's budget per root field; the error if one is spent out.

    Every root field costs one unit, so aliases cannot stretch a budget; a charging
    mutation also spends the tighter charge budget. Checked before execution (not in a
    per-field hook, which would slow every field), so a refused operation runs no
    resolver at all.
    """
    try:
        principal = await context.principal()
    except Unauthenticated:
        return None  # the resolvers answer UNAUTHENTICATED themselves
    try:
        for field in root_fields:
            if not field.startswith("__"):
                moves_money = field in CHARGING_MUTATIONS
                await context.runtime.rate_limiter.check(principal.sub, moves_money=moves_money)
    except RateLimited as refused:
        return GraphQLError(refused.message, original_error=refused)
    return None
