"""One extension per operation: its metrics and log context, and its rate-limit budgets."""

import time
from collections.abc import AsyncIterator, Iterator

import structlog
from graphql import ExecutionResult
from strawberry.extensions import SchemaExtension

from graph.limits import selected_root_fields
from graph.observability import UNKNOWN, operation_label, record_operation
from graph.rate_limits import refusal


class OperationGate(SchemaExtension):
    """Labels, counts and times each operation, and charges its root fields to budgets.

    One extension for both, as Strawberry builds each extension's hooks anew on every
    request, and both need the operation's root fields.
    """

    def on_operation(self) -> Iterator[None]:
        self.label = UNKNOWN
        started = time.perf_counter()
        yield
        result = self.execution_context.result
        record_operation(self.label, result is None or bool(result.errors), started)

    async def on_execute(self) -> AsyncIterator[None]:
        # Strawberry calls this only once the document has passed validation.
        context = self.execution_context
        fields = selected_root_fields(context.graphql_document, context.operation_name)
        self.label = operation_label(fields)
        structlog.contextvars.bind_contextvars(operation=self.label)
        refused = await refusal(context.context, fields)
        if refused is not None:
            context.result = ExecutionResult(data=None, errors=[refused])
        yield
