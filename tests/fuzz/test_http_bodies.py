"""Fuzz: whatever reaches POST /graphql as bytes (shape, nesting, media type) is never a fault."""

import json
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.bounds import BOUNDED
from tests.fuzz.hostile import response_problems
from tests.support import new_subject, token

BEARER = token(new_subject())
DOCUMENTS = [
    "{ __typename }",
    "query($n: Int) { payments(first: $n) { nodes { id } } }",
    "query($f: PaymentFilter) { payments(filter: $f) { nodes { id } } }",
    "query($a: DateTime!, $b: DateTime!) { paymentStats(from: $a, to: $b) { count } }",
    "mutation($input: ChargePaymentInput!, $key: String!) "
    "{ chargePayment(input: $input, idempotencyKey: $key) { errors { code } } }",
    "subscription { paymentsUpdated { id } }",
    "query A { me { id } } query B { __typename }",
    "{",
]
NUMBERS = st.one_of(
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.sampled_from(["1" * 5000, "1e999", "-1e999", "NaN", "Infinity", "1" * 400 + ".5"]).map(
        lambda text: _Raw(text)
    ),
)
LEAVES = st.one_of(st.none(), st.booleans(), st.text(max_size=40), NUMBERS)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
VARIABLES = st.fixed_dictionaries(
    {},
    optional={
        "n": JSON_VALUES,
        "f": JSON_VALUES,
        "a": JSON_VALUES,
        "b": JSON_VALUES,
        "key": JSON_VALUES,
        "input": st.fixed_dictionaries(
            {"orderId": JSON_VALUES, "amount": JSON_VALUES, "currency": JSON_VALUES},
            optional={"metadata": JSON_VALUES, "paymentMethodId": JSON_VALUES},
        ),
    },
)
REQUESTS = st.fixed_dictionaries(
    {},
    optional={
        "query": st.sampled_from(DOCUMENTS) | JSON_VALUES,
        "variables": VARIABLES | JSON_VALUES,
        "operationName": st.sampled_from(["A", "B", "C"]) | JSON_VALUES,
        "extensions": JSON_VALUES,
    },
)


class _Raw:
    """Text placed into the body as it is: numbers json.dumps would not write."""

    def __init__(self, text: str) -> None:
        self.text = text


def _encode(value: Any) -> str:
    if isinstance(value, _Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value)


def _nested(depth: int, opening: str) -> str:
    inner = (opening if opening == "[" else '{"a":') * depth + "1"
    return inner + ("]" if opening == "[" else "}") * depth


def _with_junk(body: str, junk: bytes) -> bytes:
    """A JSON object with bytes that are not UTF-8 just before its end."""
    return body.encode()[:-1] + junk + b"}"


NESTED = st.builds(
    lambda depth, opening, where: where.replace("NEST", _nested(depth, opening)),
    st.integers(1, 6000),
    st.sampled_from(["[", "{"]),
    st.sampled_from(
        [
            '{"query": "{ __typename }", "variables": {"v": NEST}}',
            '{"query": "{ __typename }", "extensions": NEST}',
            '{"query": NEST}',
            "NEST",
        ]
    ),
).map(str.encode)
BODIES = st.one_of(
    REQUESTS.map(_encode).map(str.encode),
    JSON_VALUES.map(_encode).map(str.encode),
    NESTED,
    st.binary(max_size=200),
    REQUESTS.map(_encode).map(lambda text: text.encode("utf-16")),
    st.builds(
        lambda body, junk: body[:-1] + junk + b"}",
        REQUESTS.map(_encode).map(str.encode),
        st.binary(min_size=1, max_size=4),
    ),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "APPLICATION/JSON; charset=UTF-8",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
        "application/json;;;",
        "application/graphql-response+json",
        "application/graphql",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
        "*/*",
        "",
    ]
)
ACCEPTS = st.sampled_from(
    [None, "application/json", "application/graphql-response+json", "text/event-stream", "*/*", "x"]
)

_LATIN_1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
# Authorization as a client may really send it, bytes beyond ASCII included.
AUTHORIZATIONS = st.one_of(
    st.sampled_from([None, f"Bearer {BEARER}", "Bearer", "Basic dXNlcjpwYXNz", "Bearer a.b.c"]),
    st.sampled_from([f"Bearer {BEARER}x", f"bearer   {BEARER}", "Bearer " + "a" * 6000]),
    st.text(_LATIN_1, max_size=60).map(lambda text: ("Bearer " + text).strip()),
).map(lambda value: value and value.encode("latin-1"))
# Strawberry reads a query string too; the guard only sees the body.
TARGETS = st.one_of(
    st.just("/graphql"),
    st.sampled_from(["query", "variables", "extensions", "operationName"]).flatmap(
        lambda name: st.builds(
            lambda value: httpx.URL("/graphql", params={name: value}),
            st.sampled_from(["{ __typename }", "null", "[]", "1e999", _nested(3000, "[")])
            | st.text(max_size=20),
        )
    ),
)


@settings(BOUNDED, max_examples=300)
@given(
    body=BODIES,
    content_type=CONTENT_TYPES,
    accept=ACCEPTS,
    authorization=AUTHORIZATIONS,
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "PATCH", "DELETE"]),
    target=TARGETS,
)
async def test_no_http_request_is_an_internal_error(
    logged_api, logged_client, body, content_type, accept, authorization, method, target
):
    """Any bytes, media type, token, query string, method: a 4xx or data, never a fault."""
    headers = {
        name: value
        for name, value in {
            "content-type": content_type,
            "accept": accept,
            "authorization": authorization,
        }.items()
        if value is not None
    }
    logged = logged_api.written()
    response = await logged_client.request(method, target, content=body, headers=headers)
    assert response_problems(response) == [], (body[:300], headers, response.text[:1000])
    assert logged_api.error_lines(since=logged) == [], (body[:300], headers)
