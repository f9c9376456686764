"""Issue 24 item 5: inputs that reached internal errors answer 400 or VALIDATION_ERROR instead."""

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
import websockets

from models.customer import Customer
from models.payment import Payment
from payments.shared.auth import ALL_SCOPES
from tests.graph.charging import charge
from tests.graph.customer_calls import DOCUMENTS, new_customer
from tests.graph.live.client import PAYMENT_UPDATED, PAYMENTS_UPDATED, live_client
from tests.support import error_codes, graphql, new_subject, token

EDGE_DATETIMES = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:30:00+23:59",
    "9999-12-31T23:59:59.999999-23:59",
]
DATETIME_QUERIES = {
    "paymentStats": (
        "query($at: DateTime!) { paymentStats(from: $at, to: $at) { count } }",
        lambda at: {"at": at},
    ),
    "paymentsFrom": (
        "query($f: PaymentFilter) { payments(filter: $f) { nodes { id } } }",
        lambda at: {"f": {"createdAfter": at}},
    ),
    "paymentsTo": (
        "query($f: PaymentFilter) { payments(filter: $f) { nodes { id } } }",
        lambda at: {"f": {"createdBefore": at}},
    ),
    "webhookEvents": (
        "query($f: WebhookEventFilter) { webhookEvents(filter: $f) { edges { cursor } } }",
        lambda at: {"f": {"receivedAfter": at}},
    ),
}


def _internal(response: httpx.Response) -> list[str]:
    """What in a response reads as an internal error: a 5xx or a masked error."""
    problems = [f"HTTP {response.status_code}"] if response.status_code >= 500 else []
    if "Unexpected error." in response.text or "INTERNAL_SERVER_ERROR" in response.text:
        problems.append(response.text[:300])
    return problems


async def _post(http: httpx.AsyncClient, body: bytes | str, bearer: str | None = None) -> Any:
    headers = {"content-type": "application/json"}
    if bearer:
        headers["authorization"] = f"Bearer {bearer}"
    return await http.post("/graphql", content=body, headers=headers)


@pytest.mark.parametrize("at", EDGE_DATETIMES)
@pytest.mark.parametrize("query", sorted(DATETIME_QUERIES))
async def test_datetimes_at_the_edges_of_the_range_are_never_internal_errors(http, query, at):
    """A DateTime at or past the ends of the range is data or a 400-class error, not a fault."""
    document, variables = DATETIME_QUERIES[query]
    body = json.dumps({"query": document, "variables": variables(at)})
    response = await _post(http, body, token(new_subject(), ALL_SCOPES))
    assert _internal(response) == []
    codes = error_codes(response.json())
    assert set(codes) <= {"BAD_USER_INPUT", "VALIDATION_ERROR", "BAD_REQUEST"}, response.text


@pytest.mark.parametrize("body", ["null", "1", "1e999", '"query"', "true", "[]", "[1]", "{}"])
async def test_a_body_that_is_not_a_json_object_is_a_400(http, body):
    """JSON that is not an object (no token needed) answers 400 with a GraphQL-shaped error."""
    response = await _post(http, body)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["message"]


@pytest.mark.parametrize("depth", [100, 5_000])
@pytest.mark.parametrize("bracket", ["[]", "{}"])
async def test_variables_nested_past_the_depth_limit_are_a_400(http, depth, bracket):
    """Variables nested thousands deep are refused before anything runs over them."""
    opening, closing = bracket
    nested = (opening if opening == "[" else '{"a":') * depth + "1" + closing * depth
    body = '{"query": "{ __typename }", "variables": {"v": ' + nested + "}}"
    response = await _post(http, body, token(new_subject()))
    assert response.status_code == 400, response.text


async def test_variables_nested_within_the_limit_still_run(http):
    """A little nesting (metadata-like objects in a variable) is still an ordinary request."""
    body = json.dumps({"query": "{ __typename }", "variables": {"v": {"a": {"b": [[1]]}}}})
    response = await _post(http, body, token(new_subject()))
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("mutation", "field", "value"),
    [
        ("setDefaultPaymentMethod", "customerId", "cus_\u0000x"),
        ("detachPaymentMethod", "customerId", "cus_\u0000x"),
        ("setDefaultPaymentMethod", "paymentMethodId", "pm_\u0000x"),
        ("detachPaymentMethod", "paymentMethodId", "p" * 45),
        ("setDefaultPaymentMethod", "paymentMethodId", "p" * 45),
        ("detachPaymentMethod", "paymentMethodId", "p" * 300),
    ],
)
async def test_admin_ids_with_nul_or_over_long_are_typed_errors_writing_nothing(
    http, mutation, field, value
):
    """An admin's NUL or over-long id is a typed error, never a fault, and nothing changes."""
    owner = new_subject()
    before = await new_customer(http, owner, "pm_card_visa")
    method_id = before["paymentMethods"][0]["id"]
    input = {"customerId": owner, "paymentMethodId": method_id, field: value}
    admin = token(new_subject(), ALL_SCOPES)
    body = await graphql(http, DOCUMENTS[mutation], {"input": input}, bearer=admin)
    assert "Unexpected error." not in json.dumps(body), body
    payload = (body.get("data") or {}).get(mutation) or {}
    payload_codes = [error["code"] for error in payload.get("errors", [])]
    assert set(payload_codes + error_codes(body)) & {
        "VALIDATION_ERROR",
        "PAYMENT_METHOD_NOT_FOUND",
        "CUSTOMER_NOT_FOUND",
        "BAD_USER_INPUT",
    }, body
    after = await Customer.get(id=owner).prefetch_related("payment_methods")
    assert [method.id for method in after.payment_methods] == [method_id]


@pytest.mark.parametrize(
    "message",
    ["null", "[]", '[{"type": "ping"}]', "1", '"ping"', "NaN", "[" * 5000 + "]" * 5000],
    ids=["null", "list", "batch", "number", "string", "nan", "nested"],
)
async def test_a_websocket_message_that_is_not_a_json_object_closes_with_4400(server, message):
    """graphql-transport-ws messages are objects; anything else closes the socket as bad JSON."""
    async with live_client(server, token(new_subject())) as client:
        await client.ws.send(message)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(client.ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (PAYMENT_UPDATED, {"id": "pay_\u0000"}),
        (PAYMENT_UPDATED, {"id": "p" * 10_000}),
        (PAYMENT_UPDATED, {"id": "a\ud800b"}),
        (PAYMENTS_UPDATED, {"filter": {"customerId": "cus_\u0000"}}),
        (PAYMENTS_UPDATED, {"filter": {"orderId": "o" * 10_000}}),
        (PAYMENTS_UPDATED, {"filter": {"createdAfter": "0001-01-01T00:00:00+01:00"}}),
        (PAYMENTS_UPDATED, {"filter": {"createdBefore": "9999-12-31T23:59:59-05:00"}}),
    ],
    ids=["nul-id", "long-id", "surrogate-id", "nul-customer", "long-order", "dt-min", "dt-max"],
)
async def test_hostile_subscription_arguments_are_never_internal_errors(server, query, variables):
    """A subscription's bad id or DateTime is an error message or a quiet stream, not a fault."""
    async with live_client(server, token(new_subject(), ALL_SCOPES)) as client:
        await client.subscribe(query, variables)
        try:
            answer = await client.message(wait=1)
        except TimeoutError:
            answer = {"type": "quiet"}
    assert answer["type"] in {"quiet", "error", "complete", "next"}, answer
    assert "Unexpected error." not in json.dumps(answer), answer
    if answer["type"] == "next":
        assert answer["payload"]["data"] is None, answer


SUBSCRIPTION = "subscription { paymentsUpdated { id } }"


@pytest.mark.parametrize(
    "message",
    [
        {"type": []},
        {"type": "subscribe", "id": "1", "payload": []},
        {"type": "subscribe", "id": "1", "payload": None},
        {"type": "subscribe", "id": "1", "payload": {"query": 1}},
        {"type": "subscribe", "id": ["x"], "payload": {"query": SUBSCRIPTION}},
        {"type": "subscribe", "id": "1", "payload": {"query": SUBSCRIPTION, "variables": []}},
        {"type": "subscribe", "id": "1", "payload": {"query": SUBSCRIPTION, "variables": "x"}},
        {"type": "subscribe", "id": "1", "payload": {"query": SUBSCRIPTION, "extensions": []}},
        {"type": "subscribe", "id": "1", "payload": {"query": SUBSCRIPTION, "operationName": 5}},
        {"type": "complete", "id": []},
    ],
    ids=[
        "type-list",
        "payload-list",
        "payload-null",
        "query-number",
        "id-list",
        "variables-list",
        "variables-string",
        "extensions-list",
        "operation-name-number",
        "complete-id-list",
    ],
)
async def test_a_malformed_protocol_message_closes_with_4400(server, message):
    """Fields of the wrong type in a graphql-transport-ws message close with 4400, no fault."""
    async with live_client(server, token(new_subject())) as client:
        await client.ws.send(json.dumps(message))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(client.ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("orderId", "order-\u0000-1"),
        ("orderId", "o" * 5_000),
        ("paymentMethodId", "pm_\ud800"),
        ("paymentMethodId", "p" * 300),
    ],
)
async def test_a_refused_charge_leaves_its_key_free_for_the_corrected_request(http, field, value):
    """Bad input writes no payment and neither locks nor spends the key: the fix goes through."""
    owner, key = new_subject(), uuid.uuid4().hex
    refused = await charge(http, owner, key, **{field: value})
    assert refused["payment"] is None
    assert "VALIDATION_ERROR" in [error["code"] for error in refused["errors"]], refused
    assert await Payment.filter(customer_id=owner).count() == 0
    corrected = await charge(http, owner, key)
    assert corrected["errors"] == [] and corrected["payment"]["status"] == "SUCCEEDED"
