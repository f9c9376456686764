"""Document limits: depth, aliases, tokens and one money mutation, fragments included.

A charge placed in the same document is the witness that no resolver ran: a rejected
document must leave no payment behind.
"""

import pytest
from graphql import GraphQLError, specified_rules

from graph.protection.documents import DocumentCache
from graph.schema import build_schema
from models.payment import Payment
from tests.graph.charging import charge_input
from tests.support import error_codes, graphql, new_subject, token

CHARGE_FIELD = 'chargePayment(input: $input, idempotencyKey: "{key}") {{ payment {{ id }} }}'
MUTATION = "mutation M($input: ChargePaymentInput!) {{ {fields} }}"


async def _post(http, document: str, sub: str) -> dict:
    """POST `document`, running operation M (a charge) with a valid input."""
    response = await http.post(
        "/graphql",
        json={"query": document, "operationName": "M", "variables": {"input": charge_input()}},
        headers={"Authorization": f"Bearer {token(sub)}"},
    )
    return response.json()


async def _charged(sub: str) -> bool:
    return await Payment.filter(customer_id=sub).exists()


# The schema has no cycles and Strawberry's depth limiter skips introspection fields,
# so depth is built from a field that does not exist: graphql-core reports it too, and
# the test looks for the depth error among the validation errors.
def _deep_query(depth: int) -> str:
    query = "id"
    for _ in range(depth):
        query = f"deeper {{ {query} }}"
    return f'query Deep {{ payment(id: "x") {{ {query} }} }}'


def _deep_fragment_chain(links: int) -> str:
    """A query 2 levels deeper per fragment, the depth hidden behind spreads."""
    fragments = [
        f"fragment F{i} on Payment {{ deeper {{ deeper {{ ...F{i + 1} }} }} }}"
        for i in range(links)
    ]
    fragments.append(f"fragment F{links} on Payment {{ id }}")
    return 'query Deep { payment(id: "x") { ...F0 } } ' + " ".join(fragments)


@pytest.mark.parametrize(
    "deep_part", [_deep_query(20), _deep_fragment_chain(10)], ids=["inline", "fragments"]
)
async def test_too_deep_document_is_rejected_before_any_resolver(http, deep_part):
    """Depth 20 (written out, or hidden in a fragment chain) rejects the whole document."""
    sub = new_subject()
    document = MUTATION.format(fields=CHARGE_FIELD.format(key="d")) + " " + deep_part
    body = await _post(http, document, sub)
    assert set(error_codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
    messages = [error["message"] for error in body["errors"]]
    assert any("'Deep' exceeds maximum operation depth of 10" in m for m in messages), messages
    assert not await _charged(sub)


async def test_circular_fragments_are_rejected_before_any_resolver(http):
    """Fragments that spread each other around a charge are refused, not followed forever."""
    sub = new_subject()
    document = (
        "mutation M($input: ChargePaymentInput!) { ...A } "
        f"fragment A on Mutation {{ {CHARGE_FIELD.format(key='c')} ...B }} "
        "fragment B on Mutation { ...A }"
    )
    body = await _post(http, document, sub)
    messages = [error["message"] for error in body["errors"]]
    assert any("Cannot spread fragment 'A' within itself" in m for m in messages), messages
    assert set(error_codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert not await _charged(sub)


@pytest.mark.parametrize("hidden_in_fragments", [False, True])
async def test_sixteen_aliases_are_rejected(http, hidden_in_fragments):
    """16 aliases (inline, or spread over two fragments) exceed 15; the charge does not run."""
    sub = new_subject()
    aliases = [f"a{i}: __typename" for i in range(15)]
    charge = f"pay: {CHARGE_FIELD.format(key='a')}"
    if hidden_in_fragments:
        document = (
            MUTATION.format(fields=f"...F ...G {charge}")
            + f" fragment F on Mutation {{ {' '.join(aliases[:8])} }}"
            + f" fragment G on Mutation {{ {' '.join(aliases[8:])} }}"
        )
    else:
        document = MUTATION.format(fields=f"{' '.join(aliases)} {charge}")
    body = await _post(http, document, sub)
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert body["errors"][0]["message"] == "16 aliases found. Allowed: 15"
    assert not await _charged(sub)


async def test_document_over_a_thousand_tokens_is_not_even_parsed(http):
    """A charge followed by 1,000 more tokens is refused at parsing; nothing runs."""
    sub = new_subject()
    padding = " ".join(["__typename"] * 1000)
    body = await _post(
        http, MUTATION.format(fields=f"{CHARGE_FIELD.format(key='t')} {padding}"), sub
    )
    assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "more than 1000 tokens" in body["errors"][0]["message"]
    assert not await _charged(sub)


@pytest.mark.parametrize("via_fragment", [False, True])
async def test_one_money_mutation_per_document(http, via_fragment):
    """Two chargePayment fields (aliased, or hidden in a fragment) are refused together."""
    sub = new_subject()
    fields = f"a: {CHARGE_FIELD.format(key='x')} b: {CHARGE_FIELD.format(key='y')}"
    document = (
        MUTATION.format(fields="...F") + f" fragment F on Mutation {{ {fields} }}"
        if via_fragment
        else MUTATION.format(fields=fields)
    )
    body = await _post(http, document, sub)
    assert "one money-moving mutation" in body["errors"][0]["message"]
    assert not await _charged(sub)


async def test_a_variable_of_the_wrong_shape_is_bad_user_input(http):
    """An input with an unknown field is the client's mistake: BAD_USER_INPUT, not masked."""
    variables = {"input": {**charge_input(), "orderID": "typo"}, "key": "k"}
    query = "mutation($input: ChargePaymentInput!, $key: String!) {"
    query += " chargePayment(input: $input, idempotencyKey: $key) { payment { id } } }"
    body = await graphql(http, query, variables, bearer=token(new_subject()))
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "unknown field 'orderID'. Did you mean 'orderId'?" in body["errors"][0]["message"]


async def test_a_refused_document_is_refused_alike_when_sent_again(http):
    """Its errors come from the document cache the second time, shaped the same."""
    sub = new_subject()
    document = MUTATION.format(fields=f"{CHARGE_FIELD.format(key='a')} missingField")
    first, again = await _post(http, document, sub), await _post(http, document, sub)
    assert error_codes(first) == ["GRAPHQL_VALIDATION_FAILED"]
    assert again == first
    assert not await _charged(sub)


def test_document_cache_parses_and_validates_each_text_once():
    """The same text is served from the cache; a text that fails to parse is not kept."""
    schema = build_schema()._schema
    cache = DocumentCache(tuple(specified_rules), max_tokens=50)
    first = cache.prepared("{ __typename }", schema)
    assert cache.prepared("{ __typename }", schema) is first
    assert first.errors == []
    assert cache.prepared("{ nope }", schema).errors  # unknown field: cached with its error
    for _ in range(2):
        with pytest.raises(GraphQLError, match="Syntax Error"):
            cache.prepared("{ ", schema)
    assert cache.prepared.cache_info().currsize == 2
