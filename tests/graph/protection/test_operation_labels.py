"""Metric labels stay a bounded set, whatever documents strangers send."""

import asyncio
import random
import re

import httpx
import pytest

from graph.protection.operation_gate import operation_label
from payments.shared import metrics
from tests.graph.protection.invented_documents import ROOTS, SCHEMA, invented_document

ROOT_FIELDS = {name for root in ROOTS for name in root.fields}
SUBSCRIPTION_FIELDS = set(SCHEMA.subscription_type.fields) if SCHEMA.subscription_type else set()
BOUNDED_LABELS = ROOT_FIELDS | SUBSCRIPTION_FIELDS | {"multiple", "unknown"}
DOCUMENTS = 3000
LABEL = re.compile(r'^payments_graphql_operations_total\{operation="([^"]*)"', re.MULTILINE)
# What the invented documents and webhooks are made of: none of it may become a label value.
INVENTED = re.compile(r'="[^"]*(invented|Op\d|x\d+_\d|evil\.)')


def _operation_labels(metrics_text: str) -> set[str]:
    return set(LABEL.findall(metrics_text))


async def test_thousands_of_invented_documents_leave_a_bounded_label_set(http):
    """3,000 distinct unauthenticated documents add labels only from the schema's root fields.

    No label of any metric takes their aliases, names or fields, nor forged webhooks' types.
    """
    before = (await http.get("/metrics")).text
    rng = random.Random(24)
    documents = [invented_document(rng, index) for index in range(DOCUMENTS)]
    assert len(set(documents)) == DOCUMENTS
    async with httpx.AsyncClient(base_url=str(http.base_url), timeout=60) as client:
        for start in range(0, DOCUMENTS, 50):
            batch = documents[start : start + 50]
            answers = await asyncio.gather(
                *(client.post("/graphql", json={"query": text}) for text in batch)
            )
            assert all(answer.status_code < 500 for answer in answers)
        for index in range(200):  # unsigned webhooks of invented types
            body = {"id": f"evt_{index}", "type": f"evil.{index}", "data": {"object": {}}}
            await client.post("/webhooks/stripe", json=body, headers={"stripe-signature": "t=1"})
    after = (await http.get("/metrics")).text
    assert INVENTED.search(after) is None
    labels = _operation_labels(after)
    assert labels <= BOUNDED_LABELS, labels - BOUNDED_LABELS
    assert {"multiple", "unknown"} <= labels
    # Each label value costs a counter per outcome and a histogram (~20 lines): the growth
    # is bounded by the label set (main grew by ~3.4 KB per document: 41 MiB for 12,273).
    grown = len(after) - len(before)
    per_label = 3_500
    assert grown < len(BOUNDED_LABELS) * per_label, (grown, len(labels))
    print(f"/metrics {len(before)} -> {len(after)} bytes, {len(labels)} operation labels")


def test_a_label_is_one_schema_field_or_multiple_or_unknown():
    """Aliases repeat a field (one label); two fields are `multiple`; meta fields `unknown`."""
    assert operation_label(["payment", "payment", "__typename"]) == "payment"
    assert operation_label(["payment", "payments"]) == "multiple"
    assert operation_label(["__typename"]) == operation_label([]) == "unknown"


def _operations_counted(label: str, outcome: str) -> float:
    (family,) = metrics.GRAPHQL_OPERATIONS.collect()
    wanted = {"operation": label, "outcome": outcome}
    return sum(s.value for s in family.samples if s.name.endswith("_total") and s.labels == wanted)


@pytest.mark.parametrize(
    ("document", "label"),
    [
        ("{ payment(", "unknown"),  # unparsable
        ("{ invented }", "unknown"),  # parsed, invalid
        ('{ payment(id: "pay_x") { id } }', "payment"),  # run: unauthenticated, an error
    ],
    ids=["unparsable", "invalid", "executed"],
)
async def test_every_answered_document_is_counted_once_under_its_label(http, document, label):
    before = _operations_counted(label, "error")
    answer = await http.post("/graphql", json={"query": document})
    assert answer.status_code == 200 and answer.json()["errors"]
    assert _operations_counted(label, "error") == before + 1
