"""payment, payments and node queries: pagination, filters, children, owner scoping."""

import logging
from datetime import UTC, datetime, timedelta

from tests.graph.charging import charge, refund
from tests.support import error_codes, graphql, new_subject, token

PAGE = """query($first: Int, $after: String, $filter: PaymentFilter) {
  payments(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id status orderId } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def _page(http, sub: str, **variables) -> dict:
    body = await graphql(http, PAGE, variables, bearer=token(sub))
    assert "errors" not in body, body
    return body["data"]["payments"]


async def test_pages_walk_every_payment_newest_first(http):
    """Keyset pages of 2 return all 5 payments once, newest first, then stop."""
    sub = new_subject()
    created = [(await charge(http, sub, orderId=f"o{i}"))["payment"]["id"] for i in range(5)]
    seen, after = [], None
    while True:
        page = await _page(http, sub, first=2, after=after)
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(created))


async def test_filters_by_status_order_and_time(http):
    """status, orderId and created* filters narrow the list."""
    sub = new_subject()
    ok = (await charge(http, sub, orderId="keep"))["payment"]
    await charge(http, sub, orderId="drop", paymentMethodId="pm_card_chargeDeclined")
    by_status = await _page(http, sub, filter={"status": ["SUCCEEDED"]})
    by_order = await _page(http, sub, filter={"orderId": "keep"})
    future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    by_time = await _page(http, sub, filter={"createdAfter": future})
    assert [e["node"]["id"] for e in by_status["edges"]] == [ok["id"]]
    assert [e["node"]["id"] for e in by_order["edges"]] == [ok["id"]]
    assert by_time["edges"] == []


async def test_customer_filter_cannot_widen_a_non_admin_view(http):
    """A customer asking for another customerId gets nothing, not the other's payments."""
    victim, snoop = new_subject(), new_subject()
    await charge(http, victim)
    page = await _page(http, snoop, filter={"customerId": victim})
    assert page["edges"] == []


async def test_bad_cursor_and_page_size_are_errors(http):
    """A forged cursor or an out-of-range `first` is a VALIDATION_ERROR."""
    sub = new_subject()
    for variables in ({"after": "not-a-cursor"}, {"first": 0}, {"first": 101}):
        body = await graphql(http, PAGE, variables, bearer=token(sub))
        assert error_codes(body) == ["VALIDATION_ERROR"]


async def test_payment_shows_refunds_and_history(http):
    """A payment lists its refunds and its applied status changes in order."""
    sub = new_subject()
    payment = (await charge(http, sub))["payment"]
    await refund(http, sub, payment["id"], amount=500)
    body = await graphql(
        http,
        "query($id: ID!) { payment(id: $id) { refunds { amount status } events { status } } }",
        {"id": payment["id"]},
        bearer=token(sub),
    )
    found = body["data"]["payment"]
    assert found["refunds"] == [{"amount": 500, "status": "SUCCEEDED"}]
    assert [e["status"] for e in found["events"]] == ["PENDING", "SUCCEEDED", "PARTIALLY_REFUNDED"]


async def test_node_resolves_payments_and_refunds(http):
    """node(id) returns a Payment or a Refund by id, and null for someone else's."""
    sub = new_subject()
    payment = (await charge(http, sub))["payment"]
    refunded = await refund(http, sub, payment["id"], amount=100)
    query = "query($id: ID!) { node(id: $id) { __typename id } }"
    as_owner = [
        (await graphql(http, query, {"id": node_id}, bearer=token(sub)))["data"]["node"]
        for node_id in (payment["id"], refunded["refund"]["id"])
    ]
    stranger = await graphql(http, query, {"id": payment["id"]}, bearer=token(new_subject()))
    assert [n["__typename"] for n in as_owner] == ["Payment", "Refund"]
    assert stranger["data"]["node"] is None


CHILDREN = """query($first: Int) {
  payments(first: $first) { nodes { id refunds { id amount } events { status } } }
}"""


async def _sql_statements(http, caplog, sub: str, first: int) -> int:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        body = await graphql(http, CHILDREN, {"first": first}, bearer=token(sub))
    assert len(body["data"]["payments"]["nodes"]) == first
    return sum(1 for r in caplog.records if r.name == "tortoise.db_client")


async def test_refunds_and_events_of_a_page_cost_the_same_queries_for_1_or_10(http, caplog):
    """No N+1: a page of 10 payments with refunds and events runs as many SQL statements as 1."""
    sub = new_subject()
    for index in range(10):
        payment = (await charge(http, sub, orderId=f"n{index}"))["payment"]
        await refund(http, sub, payment["id"], amount=100)
    one = await _sql_statements(http, caplog, sub, 1)
    ten = await _sql_statements(http, caplog, sub, 10)
    assert one > 0, "no SQL was captured"
    assert ten == one
