"""Event endpoints end to end: filters, own secrets, rotation, disabling, recovery, isolation."""

import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from payments.shared.auth import ALL_SCOPES
from tests.support import graphql, serve, token
from tests.tasks.fanout_support import (
    OUTBOUND_SECRET,
    ClosingReceiver,
    Receiver,
    Stack,
    charge_many,
    fanout_stack,
    versions_in_arrival_order,
    wait_until,
)

ADMIN = token("endpoints-admin", ALL_SCOPES)
CREATE = """mutation($input: CreateEventEndpointInput!) { createEventEndpoint(input: $input) {
  endpoint { id } secret errors { code field } } }"""
ROTATE = """mutation($id: ID!) { rotateEventEndpointSecret(input: {id: $id}) { secret } }"""
UPDATE = """mutation($input: UpdateEventEndpointInput!) { updateEventEndpoint(input: $input) {
  endpoint { enabled disabledReason } errors { code } } }"""
RECOVER = """mutation($id: ID!, $since: DateTime!) {
  recoverEventEndpoint(input: {id: $id, since: $since}) { endpoint { id } errors { code } } }"""
ENDPOINTS = """{ eventEndpoints(first: 100) {
  edges { node { id enabled disabledReason description } } } }"""
DELIVERIES = """query($filter: DeliveryFilter) { deliveries(first: 100, filter: $filter) {
  edges { node { consumer eventId status } } } }"""


async def _admin(stack: Stack, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.api, timeout=30) as client:
        body = await graphql(client, document, variables, bearer=ADMIN)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def _create(stack: Stack, url: str, event_types: list[str] | None = None) -> tuple[str, str]:
    """A new endpoint's id and secret."""
    fields: dict[str, Any] = {"url": f"{url}/events"}
    if event_types is not None:
        fields["eventTypes"] = event_types
    created = (await _admin(stack, CREATE, {"input": fields}))["createEventEndpoint"]
    assert created["errors"] == [], created
    return created["endpoint"]["id"], created["secret"]


async def _types(stack: Stack) -> dict[str, str]:
    """Every event's type, by id."""
    return {
        row["id"]: row["type"] for row in await stack.query("SELECT id, type FROM outbox_events")
    }


def _verify_only_with(receiver: Receiver, secret: str, others: list[str]) -> None:
    """Every request verifies with `secret` and with none of `others`."""
    for record in receiver.received:
        Webhook(secret).verify(record["body"], record["headers"])
        for other in others:
            with pytest.raises(WebhookVerificationError):
                Webhook(other).verify(record["body"], record["headers"])


async def test_endpoints_get_exactly_their_events_each_verifiable_with_its_own_secret():
    """Three endpoints with their own filters and secrets beside the configured two."""
    succeeded, refunds, rotated = Receiver(), Receiver(), Receiver()
    async with (
        fanout_stack() as stack,
        succeeded.serving() as succeeded_url,
        refunds.serving() as refunds_url,
        rotated.serving() as rotated_url,
    ):
        first = await _create(stack, succeeded_url, ["payment.succeeded"])
        second = await _create(stack, refunds_url, ["payment.partially_refunded", "payment.re*"])
        third, old_secret = await _create(stack, rotated_url)
        rotation = await _admin(stack, ROTATE, {"id": third})
        new_secret = rotation["rotateEventEndpointSecret"]["secret"]
        await charge_many(stack, 40, refund_every=4)
        types = await _types(stack)
        wanted_by_refunds = {i for i, t in types.items() if t.endswith("refunded")}
        expected = [
            (succeeded, {i for i, t in types.items() if t == "payment.succeeded"}),
            (refunds, wanted_by_refunds),
            (rotated, set(types)),
            (stack.order, set(types)),
            (stack.notification, set(types)),
        ]
        for receiver, ids in expected:
            await wait_until(lambda r=receiver, i=ids: r.delivered_ids() >= i, "every wanted event")
        await asyncio.sleep(1)  # an event sent where its filter says not would show by now
        page = await _admin(stack, DELIVERIES, {"filter": {"consumer": second[0]}})
        configured = await _admin(stack, ENDPOINTS, {})
    assert len(types) == 40 + 2 * 10 and all(ids for _, ids in expected)
    for receiver, ids in expected:
        assert receiver.delivered_ids() == ids
    _verify_only_with(succeeded, first[1], [second[1], OUTBOUND_SECRET])
    _verify_only_with(refunds, second[1], [first[1], OUTBOUND_SECRET])
    # After the rotation both secrets sign, for the grace period.
    _verify_only_with(rotated, new_secret, [first[1]])
    _verify_only_with(rotated, old_secret, [second[1]])
    assert all(len(r["headers"]["webhook-signature"].split()) == 2 for r in rotated.received)
    for receiver in (stack.order, stack.notification):
        _verify_only_with(receiver, OUTBOUND_SECRET, [first[1]])
    # The deliveries query shows one endpoint's deliveries: its id is their consumer.
    nodes = [edge["node"] for edge in page["deliveries"]["edges"]]
    assert {n["consumer"] for n in nodes} == {second[0]}
    assert {n["eventId"] for n in nodes} == wanted_by_refunds
    descriptions = {e["node"]["description"] for e in configured["eventEndpoints"]["edges"]}
    assert {"order", "notification"} <= descriptions


async def test_a_dead_endpoint_is_disabled_and_recovery_fills_the_gap_in_order():
    """400s dead-letter 3 in a row: disabled, nothing new queued; recover sends all, in order."""
    failing = Receiver(answer=lambda _: 400)
    async with (
        fanout_stack(ENDPOINT_DISABLE_AFTER_FAILURES="3") as stack,
        failing.serving() as url,
    ):
        since = datetime.now(UTC).isoformat()
        endpoint_id, secret = await _create(stack, url)
        await charge_many(stack, 3)

        async def disabled() -> dict[str, Any]:
            edges = (await _admin(stack, ENDPOINTS, {}))["eventEndpoints"]["edges"]
            return next(e["node"] for e in edges if e["node"]["id"] == endpoint_id)

        deadline = time.monotonic() + 30
        while (await disabled())["enabled"]:
            assert time.monotonic() < deadline, "the endpoint was not disabled"
            await asyncio.sleep(0.2)
        state = await disabled()
        await charge_many(stack, 4, refund_every=2)  # while it is disabled
        await wait_until(lambda: len(stack.order.delivered_ids()) == 3 + 4 + 2 * 2, "the others")
        rows = await stack.query(
            "SELECT status FROM outbox_deliveries WHERE consumer = $1", endpoint_id
        )
        attempts_while_disabled = len(failing.received)
        failing.answer = lambda _: 200
        await _admin(stack, UPDATE, {"input": {"id": endpoint_id, "enabled": True}})
        await _admin(stack, RECOVER, {"id": endpoint_id, "since": since})
        expected = await stack.event_ids()
        await wait_until(lambda: failing.delivered_ids() >= expected, "the recovered events")
    assert state["disabledReason"] == "The last 3 deliveries were dead-lettered."
    assert [row["status"] for row in rows] == ["DEAD"] * 3  # no delivery while disabled
    assert attempts_while_disabled == 3
    assert failing.delivered_ids() == expected
    for versions in versions_in_arrival_order(failing).values():
        assert versions == sorted(versions)
    _verify_only_with(failing, secret, [OUTBOUND_SECRET])


@asynccontextmanager
async def _slow_failing() -> AsyncIterator[str]:
    """A consumer that answers 500 after a second; its base URL."""

    async def events(request: Request) -> Response:
        await asyncio.sleep(1)
        return Response(status_code=500)

    async with serve(Starlette(routes=[Route("/events", events, methods=["POST"])])) as url:
        yield url


def _latencies(receiver: Receiver, event_ids: set[str]) -> list[float]:
    """Seconds from each event's commit (its createdAt) to its first arrival here."""
    arrived: dict[str, float] = {}
    for record in receiver.received:
        arrived.setdefault(record["headers"]["webhook-id"], record["at"])
    created = {
        body["id"]: datetime.fromisoformat(body["createdAt"]).timestamp()
        for body in (json.loads(r["body"]) for r in receiver.received)
    }
    return [arrived[i] - created[i] for i in event_ids]


async def _charge_at_rate(stack: Stack, count: int, per_second: float) -> set[str]:
    """Charge `count` payments at a steady rate; the ids of the events they made."""
    before = await stack.event_ids()
    for _ in range(count):
        await charge_many(stack, 1)
        await asyncio.sleep(1 / per_second)
    return await stack.event_ids() - before


async def test_a_slow_failing_endpoint_does_not_delay_the_healthy_ones():
    """Three endpoints answering 500 after 1 s: the healthy ones' latency stays as without them."""
    closing = ClosingReceiver()
    async with (
        fanout_stack() as stack,
        closing.serving() as closing_url,
        _slow_failing() as slow_url,
    ):
        await _create(stack, closing_url)
        healthy = (stack.order, closing)
        warm_up = await _charge_at_rate(stack, 1, per_second=10)  # the worker has started
        for receiver in healthy:
            await wait_until(lambda r=receiver: r.delivered_ids() >= warm_up, "the first event")
        baseline = await _charge_at_rate(stack, 20, per_second=10)
        for receiver in healthy:
            await wait_until(lambda r=receiver: r.delivered_ids() >= baseline, "the baseline")
        for _ in range(3):
            await _create(stack, slow_url)
        await asyncio.sleep(0.5)
        loaded = await _charge_at_rate(stack, 40, per_second=10)
        for receiver in healthy:
            await wait_until(lambda r=receiver: r.delivered_ids() >= loaded, "the events beside")
        failing = await stack.query(
            "SELECT count(*) AS n FROM outbox_deliveries WHERE last_status_code = 500"
        )
    assert failing[0]["n"] >= 40  # the slow endpoints were being tried all along
    for receiver in healthy:
        before = statistics.quantiles(_latencies(receiver, baseline), n=10)[-1]
        beside = statistics.quantiles(_latencies(receiver, loaded), n=10)[-1]
        print(f"p90 commit->arrival: {before * 1000:.0f} ms alone, {beside * 1000:.0f} ms beside")
        assert beside < max(0.5, 2 * before), (before, beside)
