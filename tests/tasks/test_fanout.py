"""Payment events reach the order and notification services: signed, ordered, never lost."""

import asyncio
import json
import os
import subprocess
from collections import defaultdict
from collections.abc import AsyncIterator

import httpx
import pytest
from standardwebhooks import Webhook

from tests.graph.charging import CHARGE, charge_input
from tests.private_servers import private_redis as private_redis_server
from tests.processes import PAYMENTS, WorkerProcess
from tests.support import graphql, new_subject, token
from tests.tasks.fanout_support import (
    OUTBOUND_SECRET,
    ClosingReceiver,
    charge_many,
    fanout_stack,
    versions_in_arrival_order,
    wait_until,
)

PAYMENT_KEYS = {
    "id",
    "orderId",
    "customerId",
    "status",
    "amount",
    "amountRefunded",
    "currency",
    "version",
    # DESIGN section 3: what was captured and, after a decline, why.
    "amountCaptured",
    "failureCode",
    # Section 4: what a bank transfer has brought in (its partial fundings are events too).
    "amountReceived",
}


async def test_every_event_reaches_both_consumers_signed_and_in_order():
    """200 payments (some refunded twice): every event at both services, verified, in order."""
    async with fanout_stack() as stack:
        await charge_many(stack, 200, refund_every=4)
        expected = await stack.event_ids()
        for receiver in (stack.order, stack.notification):
            await wait_until(lambda r=receiver: r.delivered_ids() >= expected, "all events")
    assert len(expected) == 200 + 2 * 50
    verifier = Webhook(OUTBOUND_SECRET)
    for receiver in (stack.order, stack.notification):
        for record in receiver.received:
            body = verifier.verify(record["body"], record["headers"])
            assert body["id"] == record["headers"]["webhook-id"]
            assert body["type"] == "payment." + body["data"]["payment"]["status"].lower()
            assert set(body["data"]["payment"]) == PAYMENT_KEYS
        for versions in versions_in_arrival_order(receiver).values():
            assert versions == sorted(versions) and len(set(versions)) == len(versions)


async def test_server_errors_are_retried_with_the_same_webhook_id():
    """A consumer answering 500 three times then 200 gets the event, same webhook-id each time."""
    async with fanout_stack() as stack:
        failures: dict[str, int] = defaultdict(int)

        def flaky(record: dict) -> int:
            failures[record["headers"]["webhook-id"]] += 1
            return 500 if failures[record["headers"]["webhook-id"]] <= 3 else 200

        stack.order.answer = flaky
        await charge_many(stack, 1)
        (event_id,) = await stack.event_ids()
        await wait_until(lambda: event_id in stack.order.delivered_ids(), "the retried event")
        rows = await stack.query(
            "SELECT status, attempts FROM outbox_deliveries AS d"
            " JOIN event_endpoints AS e ON e.id = d.consumer WHERE e.description = 'order'"
        )
    assert stack.order.attempts() == {event_id: 4}
    assert [(r["status"], r["attempts"]) for r in rows] == [("DELIVERED", 4)]


async def test_client_errors_are_dead_lettered_and_can_be_redriven():
    """A 400 is not retried: the delivery is DEAD; `payments deliveries redrive` sends it again."""
    async with fanout_stack() as stack:
        stack.notification.answer = lambda _: 400
        await charge_many(stack, 1)
        (event_id,) = await stack.event_ids()
        await wait_until(lambda: len(stack.notification.received) == 1, "the first attempt")
        await asyncio.sleep(1)  # a wrong retry would show up by now
        dead = await stack.query(
            "SELECT status FROM outbox_deliveries AS d"
            " JOIN event_endpoints AS e ON e.id = d.consumer WHERE e.description = 'notification'"
        )
        stack.notification.answer = lambda _: 200
        redrive = await asyncio.create_subprocess_exec(
            PAYMENTS, "deliveries", "redrive", event_id, env=stack.env, stdout=subprocess.PIPE
        )
        assert await redrive.wait() == 0
        await wait_until(lambda: event_id in stack.notification.delivered_ids(), "the redrive")
    assert [row["status"] for row in dead] == ["DEAD"]
    assert [r["status"] for r in stack.notification.received] == [400, 200]


async def test_killing_a_worker_mid_run_loses_nothing():
    """A SIGKILLed worker during 500 events, then a restart: every event arrives."""
    async with fanout_stack() as stack:
        charging = asyncio.create_task(charge_many(stack, 500))
        await wait_until(lambda: len(stack.order.received) >= 50, "deliveries to start")
        stack.worker.kill_hard()
        await charging
        stack.worker.restart()
        expected = await stack.event_ids()
        for receiver in (stack.order, stack.notification):
            await wait_until(lambda r=receiver: r.delivered_ids() >= expected, "every event", 90)
    assert len(expected) == 500


@pytest.fixture
async def private_redis() -> AsyncIterator[str]:
    """A Redis of this test's own, so FLUSHALL cannot touch anyone else's queues."""
    async with private_redis_server() as server:
        yield server.url


async def test_redis_flushed_mid_run_loses_nothing(private_redis):
    """FLUSHALL while events are queued: the sweep enqueues them again and all arrive."""
    async with fanout_stack(redis_url=private_redis) as stack:
        stack.order.answer = lambda _: 503
        await charge_many(stack, 100)
        await wait_until(lambda: len(stack.order.received) >= 100, "queued retries")
        flush = await asyncio.create_subprocess_exec(
            "redis-cli", "-u", private_redis, "FLUSHALL", stdout=subprocess.DEVNULL
        )
        await flush.wait()
        stack.order.answer = lambda _: 200
        expected = await stack.event_ids()
        for receiver in (stack.order, stack.notification):
            await wait_until(lambda r=receiver: r.delivered_ids() >= expected, "every event", 90)
    assert len(expected) == 100
    assert os.environ.get("REDIS_URL") != private_redis


async def test_the_charge_request_id_travels_with_its_events():
    """X-Request-ID of the chargePayment request reaches both consumers with the event."""
    sub = new_subject()
    async with fanout_stack() as stack, httpx.AsyncClient(base_url=stack.api) as client:
        variables = {"input": charge_input(), "key": "request-id-key"}
        headers = {"x-request-id": "req-fanout-trace"}
        await graphql(client, CHARGE, variables, bearer=token(sub), headers=headers)
        for receiver in (stack.order, stack.notification):
            await wait_until(lambda r=receiver: bool(r.delivered_ids()), "the event")
    for receiver in (stack.order, stack.notification):
        assert {r["headers"].get("x-request-id") for r in receiver.received} == {"req-fanout-trace"}


async def test_serve_delivers_simulated_outcomes_to_its_own_webhook_route():
    """Under `payments serve`, pm_sim_processing settles through the served webhook route."""
    async with fanout_stack() as stack, httpx.AsyncClient(base_url=stack.api) as client:
        payment = await stack.charge(client, new_subject(), paymentMethodId="pm_sim_processing")
        assert payment["status"] == "PROCESSING"

        def succeeded() -> bool:
            bodies = [json.loads(r["body"]) for r in stack.order.received]
            return any(b["type"] == "payment.succeeded" for b in bodies)

        await wait_until(succeeded, "the simulated webhook's outcome", seconds=30)


async def test_a_later_version_waits_for_an_earlier_one_that_is_being_retried():
    """Version 2 fails 8 times while two refunds commit: the receiver still gets 2, 3, 4."""
    async with fanout_stack() as stack, httpx.AsyncClient(base_url=stack.api) as client:
        failures: dict[int, int] = defaultdict(int)

        def first_event_flaky(record: dict) -> int:
            version = json.loads(record["body"])["data"]["payment"]["version"]
            failures[version] += 1
            # 8 failures take over a second of backoff: the refunds commit well within it.
            return 503 if version == 2 and failures[version] <= 8 else 200

        stack.order.answer = first_event_flaky
        sub = new_subject()
        payment = await stack.charge(client, sub)
        await wait_until(lambda: failures[2] >= 1, "the first failed attempt")
        await stack.refund(client, sub, payment["id"], 100)
        await stack.refund(client, sub, payment["id"], 200)
        await wait_until(lambda: len(stack.order.delivered_ids()) == 3, "all three events")
    assert failures[2] == 9
    assert versions_in_arrival_order(stack.order) == {payment["id"]: [2, 3, 4]}
    # Held, not attempted: the later versions were each POSTed exactly once.
    assert (failures[3], failures[4]) == (1, 1)


async def test_two_worker_machines_share_the_outbox_without_double_posting():
    """A second `payments worker` (2 processes) beside the first: each event POSTed once each."""
    async with fanout_stack() as stack:
        with WorkerProcess.start(stack.env, ("--processes", "2", "--threads", "4")):
            await charge_many(stack, 150, refund_every=5)
            expected = await stack.event_ids()
            for receiver in (stack.order, stack.notification):
                await wait_until(lambda r=receiver: r.delivered_ids() >= expected, "all events")
    for receiver in (stack.order, stack.notification):
        assert set(receiver.attempts().values()) == {1}, "an event was POSTed twice"
        for versions in versions_in_arrival_order(receiver).values():
            assert versions == sorted(versions)


async def test_a_consumer_that_closes_each_connection_gets_every_event_once():
    """Beside a keep-alive consumer, an HTTP/1.0 http.server gets 300 events, each POSTed once."""
    async with fanout_stack(order=ClosingReceiver()) as stack:
        await charge_many(stack, 200, refund_every=4)
        expected = await stack.event_ids()
        for receiver in (stack.order, stack.notification):
            await wait_until(lambda r=receiver: r.delivered_ids() >= expected, "every event", 30)
    assert len(expected) == 200 + 2 * 50
    for receiver in (stack.order, stack.notification):
        assert set(receiver.attempts().values()) == {1}
        for versions in versions_in_arrival_order(receiver).values():
            assert versions == sorted(versions)
