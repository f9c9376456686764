"""webhookEvents, deliveries, replayWebhookEvent and redriveDelivery through the real HTTP stack."""

import uuid
from datetime import UTC, datetime

import pytest

from models.enums import DeliveryStatus, InboxStatus
from models.inbox import WebhookEvent
from models.outbox import OutboxDelivery, OutboxEvent
from payments.shared.auth import ALL_SCOPES
from tests.support import error_codes, graphql, new_subject, token
from tests.webhooks.factories import body_of, charged, event, intent, new_id

EVENTS = """query($first: Int, $after: String, $filter: WebhookEventFilter) {
  webhookEvents(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id stripeEventId type status attempts receivedAt processedAt lastError } }
    pageInfo { hasNextPage endCursor }
  }
}"""
DELIVERIES = """query($first: Int, $after: String, $filter: DeliveryFilter) {
  deliveries(first: $first, after: $after, filter: $filter) {
    edges { node { id eventId consumer status attempts nextAttemptAt lastStatusCode lastError
                   deliveredAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""
REPLAY = """mutation($id: ID!) { replayWebhookEvent(id: $id) {
  webhookEvent { id status attempts lastError processedAt } errors { code field } } }"""
REDRIVE = """mutation($id: ID!) { redriveDelivery(id: $id) {
  delivery { id status attempts } errors { code field } } }"""
ADMIN = token("ops-admin", ALL_SCOPES)


async def _stored_event(
    event_type: str, status: InboxStatus, error: str | None = None
) -> WebhookEvent:
    payload = event(event_type, intent(new_id("pi")))
    return await WebhookEvent.create(
        event_id=payload["id"],
        type=event_type,
        payload=body_of(payload).decode(),
        status=status,
        error=error,
        received_at=datetime.now(UTC),
    )


async def _dead_delivery(consumer: str) -> OutboxDelivery:
    payment = await charged("pm_card_visa")
    outbox = await OutboxEvent.filter(payment_id=payment.id).first()
    assert outbox is not None
    return await OutboxDelivery.create(
        event_id=outbox.id,
        consumer=consumer,
        payment_id=payment.id,
        version=outbox.version,
        status=DeliveryStatus.DEAD,
        attempts=20,
        last_status_code=500,
        last_error="HTTP 500",
    )


@pytest.mark.parametrize(
    ("document", "variables"),
    [(EVENTS, {}), (DELIVERIES, {}), (REPLAY, {"id": "1"}), (REDRIVE, {"id": "1"})],
    ids=["webhookEvents", "deliveries", "replayWebhookEvent", "redriveDelivery"],
)
async def test_operations_are_forbidden_without_the_admin_scope(http, document, variables):
    """A customer's token (read, write, refund) gets FORBIDDEN from every operation."""
    body = await graphql(http, document, variables, bearer=token(new_subject()))
    assert error_codes(body) == ["FORBIDDEN"]


async def test_webhook_events_page_through_a_filter_newest_first(http):
    """Events filtered by type come newest first, two per page, with the CLI's fields."""
    event_type = f"test.{uuid.uuid4().hex[:8]}"
    rows = [await _stored_event(event_type, InboxStatus.FAILED, f"boom {i}") for i in range(3)]
    variables = {"first": 2, "filter": {"type": event_type}}
    first = (await graphql(http, EVENTS, variables, bearer=ADMIN))["data"]["webhookEvents"]
    after = {**variables, "after": first["pageInfo"]["endCursor"]}
    second = (await graphql(http, EVENTS, after, bearer=ADMIN))["data"]["webhookEvents"]
    nodes = [edge["node"] for page in (first, second) for edge in page["edges"]]
    assert [n["stripeEventId"] for n in nodes] == [r.event_id for r in reversed(rows)]
    assert first["pageInfo"]["hasNextPage"] and not second["pageInfo"]["hasNextPage"]
    assert nodes[0] | {"receivedAt": None} == {
        "id": str(rows[2].id),
        "stripeEventId": rows[2].event_id,
        "type": event_type,
        "status": "FAILED",
        "attempts": 0,
        "receivedAt": None,
        "processedAt": None,
        "lastError": "boom 2",
    }


async def test_webhook_events_filter_by_status_and_unstorable_text(http):
    """A status filter keeps only that status; a NUL in a filter matches nothing, no error."""
    parked = await _stored_event("payment_intent.succeeded", InboxStatus.PARKED)
    by_status = {"filter": {"status": ["PARKED"], "stripeEventId": parked.event_id}}
    found = await graphql(http, EVENTS, by_status, bearer=ADMIN)
    assert [e["node"]["id"] for e in found["data"]["webhookEvents"]["edges"]] == [str(parked.id)]
    other = {"filter": {"status": ["PROCESSED"], "stripeEventId": parked.event_id}}
    assert (await graphql(http, EVENTS, other, bearer=ADMIN))["data"]["webhookEvents"][
        "edges"
    ] == []
    nul = await graphql(http, EVENTS, {"filter": {"type": "a\x00b"}}, bearer=ADMIN)
    assert nul["data"]["webhookEvents"]["edges"] == []


async def test_replay_processes_a_failed_event_as_the_cli_does(http):
    """A FAILED event whose payment now exists is PROCESSED by replay, and the payment moves."""
    payment = await charged("pm_sim_processing")
    payload = event("payment_intent.succeeded", intent(payment.provider_payment_id))
    row = await WebhookEvent.create(
        event_id=payload["id"],
        type=payload["type"],
        payload=body_of(payload).decode(),
        status=InboxStatus.FAILED,
        error="earlier failure",
        received_at=datetime.now(UTC),
    )
    body = await graphql(http, REPLAY, {"id": str(row.id)}, bearer=ADMIN)
    replayed = body["data"]["replayWebhookEvent"]
    assert replayed["errors"] == []
    assert replayed["webhookEvent"]["status"] == "PROCESSED"
    assert replayed["webhookEvent"]["lastError"] is None
    await payment.refresh_from_db()
    assert payment.status == "SUCCEEDED"


@pytest.mark.parametrize("missing", ["999999999999", "not-a-number", "9" * 40, "1\x00"])
async def test_replay_and_redrive_of_unknown_ids_are_not_found(http, missing):
    """An id that names no row, or could not, is NOT_FOUND on the id field."""
    for document, name in ((REPLAY, "replayWebhookEvent"), (REDRIVE, "redriveDelivery")):
        body = await graphql(http, document, {"id": missing}, bearer=ADMIN)
        assert body["data"][name]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]


async def test_deliveries_show_failures_and_redrive_reopens_a_dead_one(http):
    """The failed filter shows a dead delivery; redrive makes it ENQUEUED with no attempts."""
    consumer = f"c-{uuid.uuid4().hex[:8]}"
    dead = await _dead_delivery(consumer)
    variables = {"filter": {"consumer": consumer, "failed": True}}
    listed = (await graphql(http, DELIVERIES, variables, bearer=ADMIN))["data"]["deliveries"]
    node = listed["edges"][0]["node"]
    assert (node["id"], node["status"], node["attempts"]) == (str(dead.id), "DEAD", 20)
    assert (node["eventId"], node["lastStatusCode"], node["lastError"]) == (
        dead.event_id,
        500,
        "HTTP 500",
    )
    body = await graphql(http, REDRIVE, {"id": str(dead.id)}, bearer=ADMIN)
    assert body["data"]["redriveDelivery"] == {
        "delivery": {"id": str(dead.id), "status": "ENQUEUED", "attempts": 0},
        "errors": [],
    }
    again = (await graphql(http, DELIVERIES, variables, bearer=ADMIN))["data"]["deliveries"]
    assert again["edges"] == []


async def test_a_bad_cursor_is_a_validation_error(http):
    """A cursor from another connection is refused, naming the after argument."""
    body = await graphql(http, DELIVERIES, {"after": "bm9wZToxMg=="}, bearer=ADMIN)
    assert error_codes(body) == ["VALIDATION_ERROR"]


@pytest.mark.parametrize("scope", ["payments:admin", "payments:read payments:admin"])
async def test_admin_without_write_can_neither_replay_nor_redrive(http, scope):
    """payments:admin without payments:write is FORBIDDEN to replay or redrive; nothing moves."""
    failed = await _stored_event("payment_intent.succeeded", InboxStatus.FAILED, "boom")
    dead = await _dead_delivery(f"c-{uuid.uuid4().hex[:8]}")
    bearer = token(new_subject(), scope)
    replay = await graphql(http, REPLAY, {"id": str(failed.id)}, bearer=bearer)
    redrive = await graphql(http, REDRIVE, {"id": str(dead.id)}, bearer=bearer)
    assert error_codes(replay) == error_codes(redrive) == ["FORBIDDEN"]
    assert "payments:write" in redrive["errors"][0]["message"]
    assert (await WebhookEvent.get(id=failed.id)).status == InboxStatus.FAILED
    assert (await OutboxDelivery.get(id=dead.id)).status == DeliveryStatus.DEAD


async def test_admin_operations_need_admin_with_the_scope_of_what_they_do(http):
    """Listing takes admin with read, re-driving admin with write; admin alone lists nothing."""
    consumer = f"c-{uuid.uuid4().hex[:8]}"
    dead = await _dead_delivery(consumer)
    variables = {"filter": {"consumer": consumer}}
    alone = await graphql(http, DELIVERIES, variables, bearer=token("ops", "payments:admin"))
    reader = token("ops", "payments:read payments:admin")
    listed = await graphql(http, DELIVERIES, variables, bearer=reader)
    operator = token("ops", "payments:write payments:admin")
    redriven = await graphql(http, REDRIVE, {"id": str(dead.id)}, bearer=operator)
    assert error_codes(alone) == ["FORBIDDEN"]
    assert [e["node"]["id"] for e in listed["data"]["deliveries"]["edges"]] == [str(dead.id)]
    assert redriven["data"]["redriveDelivery"]["delivery"]["status"] == "ENQUEUED"
