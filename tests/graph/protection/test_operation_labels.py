"""Metric labels stay a bounded set, whatever documents strangers send."""

import asyncio
import random
import re

import httpx
import pytest
from graphql import GraphQLObjectType, get_named_type, is_leaf_type

from graph.protection.operation_gate import operation_label
from graph.schema import build_schema
from payments.shared import metrics

SCHEMA = build_schema()._schema
ROOTS = [root for root in (SCHEMA.query_type, SCHEMA.mutation_type) if root is not None]
ROOT_FIELDS = {name for root in ROOTS for name in root.fields}
SUBSCRIPTION_FIELDS = set(SCHEMA.subscription_type.fields) if SCHEMA.subscription_type else set()
BOUNDED_LABELS = ROOT_FIELDS | SUBSCRIPTION_FIELDS | {"multiple", "unknown"}
DOCUMENTS = 3000
LABEL = re.compile(r'^payments_graphql_operations_total\{operation="([^"]*)"', re.MULTILINE)
# What the invented documents and webhooks are made of: none of it may become a label value.
INVENTED = re.compile(r'="[^"]*(invented|Op\d|x\d+_\d|evil\.)')


def _selection(root: GraphQLObjectType, name: str, alias: str) -> tuple[str, list[str]]:
    """`alias: name(args) { __typename }` and the variables it declares, none of them given."""
    field = root.fields[name]
    variables = [f"${alias}_{arg}: {field.args[arg].type}" for arg in field.args]
    arguments = ", ".join(f"{arg}: ${alias}_{arg}" for arg in field.args)
    call = f"{alias}: {name}({arguments})" if arguments else f"{alias}: {name}"
    leaf = is_leaf_type(get_named_type(field.type))
    return (call if leaf else f"{call} {{ __typename }}"), variables


def _document(rng: random.Random, index: int) -> str:
    """A distinct document: a random mix of root fields under invented aliases and names.

    One in five also selects a field the schema lacks; all declare variables they never
    send, so valid ones reach execution (and labelling) and stop at variable coercion.
    """
    root = rng.choice(ROOTS)
    names = rng.sample(sorted(root.fields), rng.randint(1, min(6, len(root.fields))))
    selections, variables = [], []
    for position, name in enumerate(names):
        selection, declared = _selection(root, name, f"x{index}_{position}")
        selections.append(selection)
        variables += declared
    if rng.random() < 0.2:
        selections.append(f"invented{index} {{ id }}")
    keyword = "query" if root is SCHEMA.query_type else "mutation"
    declared = f"({', '.join(variables)})" if variables else ""
    return f"{keyword} Op{index}_{rng.getrandbits(32)}{declared} {{ {' '.join(selections)} }}"


def _operation_labels(metrics_text: str) -> set[str]:
    return set(LABEL.findall(metrics_text))


async def test_thousands_of_invented_documents_leave_a_bounded_label_set(http):
    """3,000 distinct unauthenticated documents add labels only from the schema's root fields.

    No label of any metric takes their aliases, names or fields, nor forged webhooks' types.
    """
    before = (await http.get("/metrics")).text
    rng = random.Random(24)
    documents = [_document(rng, index) for index in range(DOCUMENTS)]
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
