"""Text PostgreSQL cannot store (NUL, lone surrogates, over-long) is a typed answer, never a 500."""

import uuid
from typing import Any

import pytest

from payments.shared.auth import ALL_SCOPES
from tests.graph.charging import CHARGE, charge, charge_input, refund
from tests.support import graphql, new_subject, token

NUL = "a\u0000b"
SURROGATE = "a\ud800b"
UNSTORABLE = [pytest.param(NUL, id="nul"), pytest.param(SURROGATE, id="lone-surrogate")]


async def _charge_as_admin(http, key: str, **overrides: Any) -> dict[str, Any]:
    variables = {"input": charge_input(**overrides), "key": key}
    body = await graphql(http, CHARGE, variables, bearer=token(new_subject(), ALL_SCOPES))
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["chargePayment"]
    return payload


@pytest.mark.parametrize("bad", UNSTORABLE)
@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("orderId", lambda bad: {"orderId": bad}),
        ("description", lambda bad: {"description": bad}),
        ("metadata", lambda bad: {"metadata": {bad: "v"}}),
        ("metadata", lambda bad: {"metadata": {"k": bad}}),
        ("customerId", lambda bad: {"customerId": bad}),
        ("paymentMethodId", lambda bad: {"paymentMethodId": bad}),
    ],
)
async def test_unstorable_charge_text_is_a_validation_error_before_the_key(
    http, field, overrides, bad
):
    """Each field is VALIDATION_ERROR naming it, and the same key is free for a good retry."""
    key = uuid.uuid4().hex
    payload = await _charge_as_admin(http, key, **overrides(bad))
    assert payload["payment"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("VALIDATION_ERROR", field)]
    retried = await _charge_as_admin(http, key)
    assert retried["errors"] == [] and retried["payment"]["status"] == "SUCCEEDED"


@pytest.mark.parametrize("bad", [*UNSTORABLE, pytest.param("k" * 256, id="too-long")])
async def test_unstorable_idempotency_key_is_a_validation_error(http, bad):
    """A key that could not be hashed or stored is refused with its field named."""
    payload = await charge(http, new_subject(), key=bad)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("VALIDATION_ERROR", "idempotencyKey")
    ]


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param({"nested": {"a": "b"}}, id="nested-object"),
        pytest.param({"list": ["a"]}, id="list"),
        pytest.param({"null": None}, id="null"),
        pytest.param({f"k{i}": "v" for i in range(51)}, id="51-keys"),
        pytest.param({"k" * 41: "v"}, id="key-41-chars"),
        pytest.param({"k": "v" * 501}, id="value-501-chars"),
        pytest.param({"": "v"}, id="empty-key"),
    ],
)
async def test_metadata_keeps_stripes_limits(http, metadata):
    """Metadata beyond Stripe's limits or nested is VALIDATION_ERROR on metadata."""
    payload = await charge(http, new_subject(), metadata=metadata)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("VALIDATION_ERROR", "metadata")
    ]


async def test_metadata_at_stripes_limits_is_accepted(http):
    """50 keys of 40 characters with 500-character values are still a charge."""
    metadata = {f"{i:02d}".ljust(40, "k"): "v" * 500 for i in range(50)}
    payload = await charge(http, new_subject(), metadata=metadata)
    assert payload["errors"] == [] and payload["payment"]["status"] == "SUCCEEDED"


IMPOSSIBLE_IDS = [*UNSTORABLE, pytest.param("p" * 10_000, id="absurd-length")]


@pytest.mark.parametrize("bad", IMPOSSIBLE_IDS)
@pytest.mark.parametrize("field", ["payment", "node"])
async def test_ids_that_cannot_exist_read_as_not_found(http, field, bad):
    """payment(id) and node(id) answer null for an id no row could have."""
    query = f"query($id: ID!) {{ {field}(id: $id) {{ id }} }}"
    body = await graphql(http, query, {"id": bad}, bearer=token(new_subject()))
    assert body == {"data": {field: None}}


@pytest.mark.parametrize("bad", IMPOSSIBLE_IDS)
@pytest.mark.parametrize("name", ["orderId", "customerId"])
async def test_filters_no_row_could_match_give_an_empty_page(http, name, bad):
    """payments(filter) with an unstorable or absurd value finds nothing, without an error."""
    query = "query($f: PaymentFilter) { payments(filter: $f) { nodes { id } } }"
    admin = token(new_subject(), ALL_SCOPES)
    body = await graphql(http, query, {"f": {name: bad}}, bearer=admin)
    assert body == {"data": {"payments": {"nodes": []}}}


@pytest.mark.parametrize("bad", IMPOSSIBLE_IDS)
async def test_refund_of_an_id_that_cannot_exist_is_not_found(http, bad):
    """RefundPayment with an impossible paymentId is NOT_FOUND and leaves its key free."""
    sub, key = new_subject(), uuid.uuid4().hex
    payload = await refund(http, sub, bad, key=key)
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    payment = (await charge(http, sub))["payment"]
    assert (await refund(http, sub, payment["id"], key=key))["refund"]["status"] == "SUCCEEDED"


@pytest.mark.parametrize("bad", UNSTORABLE)
async def test_unstorable_pagination_cursor_is_a_validation_error(http, bad):
    """An `after` cursor that decodes to unstorable text is refused as invalid."""
    import base64

    cursor = base64.urlsafe_b64encode(f"payment:{bad}".encode("utf-8", "surrogatepass")).decode()
    query = "query($after: String) { payments(after: $after) { nodes { id } } }"
    body = await graphql(http, query, {"after": cursor}, bearer=token(new_subject()))
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("bad", UNSTORABLE)
async def test_a_token_whose_subject_cannot_be_stored_is_unauthenticated(http, bad):
    """A signed token with an unstorable `sub` is refused, not carried into SQL."""
    body = await graphql(http, CHARGE, {"input": charge_input(), "key": "k"}, bearer=token(bad))
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
