"""Per-operation metrics and log context for GraphQL."""

import time
from collections.abc import Iterator

import structlog
from graphql import OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from payments import metrics


class OperationMetrics(SchemaExtension):
    """Counts and times operations, labelled by their root fields (bounded by the schema)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        name = self._root_fields()
        result = self.execution_context.result
        outcome = "error" if result is None or result.errors else "ok"
        metrics.GRAPHQL_OPERATIONS.labels(name, outcome).inc()
        metrics.GRAPHQL_DURATION.labels(name).observe(time.perf_counter() - started)

    def on_execute(self) -> Iterator[None]:
        structlog.contextvars.bind_contextvars(operation=self._root_fields())
        yield

    def _root_fields(self) -> str:
        # Client-chosen operation names would let anyone create label values.
        document = self.execution_context.graphql_document
        if document is None:
            return "invalid"
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                fields = sorted(
                    {
                        s.name.value
                        for s in definition.selection_set.selections
                        if hasattr(s, "name") and s.name
                    }
                )
                return ",".join(fields)[:100] or "empty"
        return "invalid"
