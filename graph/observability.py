"""Per-operation metrics and log context for GraphQL."""

import time

from payments.shared import metrics

# Documents that never executed: unparsable, invalid, or of a refused operation type.
NOT_EXECUTED = "invalid"


def operation_label(root_fields: list[str]) -> str:
    """The operation's label in metrics and log lines: its root fields.

    Client-chosen operation or fragment names would let anyone mint label values; the
    root fields of a validated document are bounded by the schema.
    """
    return ",".join(sorted(set(root_fields))) or "empty"


def record_operation(label: str, failed: bool, started: float) -> None:
    """Count and time one operation, by label and outcome."""
    outcome = "error" if failed else "ok"
    metrics.GRAPHQL_OPERATIONS.labels(label, outcome).inc()
    metrics.GRAPHQL_DURATION.labels(label).observe(time.perf_counter() - started)
