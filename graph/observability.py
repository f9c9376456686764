"""Per-operation metrics and log context for GraphQL."""

import time
from collections.abc import Iterator

import structlog
from strawberry.extensions import SchemaExtension

from graph.limits import selected_root_fields
from payments.shared import metrics

# Documents that never executed: unparsable, invalid, or of a refused operation type.
NOT_EXECUTED = "invalid"


class OperationMetrics(SchemaExtension):
    """Counts and times operations, labelled by their root fields.

    Client-chosen operation or fragment names would let anyone mint label values; the
    root fields of a validated document are bounded by the schema.
    """

    def on_operation(self) -> Iterator[None]:
        self.label = NOT_EXECUTED
        started = time.perf_counter()
        yield
        result = self.execution_context.result
        outcome = "error" if result is None or result.errors else "ok"
        metrics.GRAPHQL_OPERATIONS.labels(self.label, outcome).inc()
        metrics.GRAPHQL_DURATION.labels(self.label).observe(time.perf_counter() - started)

    def on_execute(self) -> Iterator[None]:
        # Strawberry calls this only once the document has passed validation.
        context = self.execution_context
        fields = selected_root_fields(context.graphql_document, context.operation_name)
        self.label = ",".join(sorted(set(fields))) or "empty"
        structlog.contextvars.bind_contextvars(operation=self.label)
        yield
