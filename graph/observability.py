"""Per-operation metrics and log context for GraphQL."""

import time

from payments.shared import metrics

# Documents that never executed (unparsable, invalid, of a refused operation type) and
# those that select only meta fields such as __typename.
UNKNOWN = "unknown"
# Documents that select two or more of the schema's root fields.
MULTIPLE = "multiple"


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


def record_operation(label: str, failed: bool, started: float) -> None:
    """Count and time one operation, by label and outcome."""
    outcome = "error" if failed else "ok"
    metrics.GRAPHQL_OPERATIONS.labels(label, outcome).inc()
    metrics.GRAPHQL_DURATION.labels(label).observe(time.perf_counter() - started)
