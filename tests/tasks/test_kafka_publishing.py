"""Payment events also reach Kafka from `payments worker`: in order, through a broker outage."""

import asyncio
import json
import os
import signal
import statistics
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from confluent_kafka import Message
from tortoise import connections

from models.outbox import OutboxEvent
from payments.outbox.kafka import PUBLISHER_NAME
from tests.graph.charging import charge
from tests.processes import WorkerProcess
from tests.support import free_port, new_subject
from tests.tansu import Tansu, headers_of, read_topic
from tests.tasks.fanout_support import Stack, charge_many, fanout_stack, wait_until

TOPIC = "payments.events"  # KAFKA_TOPIC's default
_ADVISORY_LOCKS = """
SELECT count(*) AS held FROM pg_locks AS l JOIN pg_database AS d ON d.oid = l.database
WHERE l.locktype = 'advisory' AND d.datname = current_database()"""


def _covering(event_ids: set[str]) -> Callable[[list[Message]], bool]:
    return lambda records: {headers_of(r)["event-id"].decode() for r in records} >= event_ids


def _versions_on_topic(records: list[Message], event_ids: set[str]) -> dict[str, list[int]]:
    """Per payment (the key), the versions of `event_ids` in the order the topic holds them."""
    versions: dict[str, list[int]] = defaultdict(list)
    for record in records:
        headers = headers_of(record)
        if headers["event-id"].decode() in event_ids:
            versions[(record.key() or b"").decode()].append(int(headers["payment-version"]))
    return versions


async def _versions_in_outbox(stack: Stack, event_ids: set[str]) -> dict[str, list[int]]:
    rows = await stack.query(
        "SELECT payment_id, version FROM outbox_events WHERE id = ANY($1::text[])"
        " ORDER BY payment_id, version",
        list(event_ids),
    )
    versions: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        versions[row["payment_id"]].append(row["version"])
    return versions


async def _unpublished(stack: Stack) -> int:
    rows = await stack.query(
        "SELECT count(*) AS n FROM outbox_events WHERE kafka_published_at IS NULL"
    )
    return int(rows[0]["n"])


async def _delivery_seconds(stack: Stack, event_ids: set[str]) -> list[float]:
    """Per event, from its commit's timestamp to the order service's first 2xx receipt."""
    rows = await stack.query(
        "SELECT id, extract(epoch FROM created_at) AS at FROM outbox_events"
        " WHERE id = ANY($1::text[])",
        list(event_ids),
    )
    created = {row["id"]: float(row["at"]) for row in rows}
    received: dict[str, float] = {}
    for record in stack.order.received:
        event_id = record["headers"]["webhook-id"]
        if record["status"] < 300 and event_id in created:
            received.setdefault(event_id, record["at"])
    return [received[event_id] - created[event_id] for event_id in event_ids]


async def _all_marked(stack: Stack) -> None:
    for _ in range(300):
        if await _unpublished(stack) == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{await _unpublished(stack)} events never marked published")


def _check_records(records: list[Message], http_bodies: dict[str, bytes]) -> None:
    """Each record: the HTTP body byte for byte, keyed by its payment, headers from the body."""
    for record in records:
        headers = headers_of(record)
        body = json.loads(record.value() or b"")
        assert record.value() == http_bodies[headers["event-id"].decode()]
        assert record.key() == body["data"]["payment"]["id"].encode()
        assert headers["event-type"].decode() == body["type"]
        assert int(headers["payment-version"]) == body["data"]["payment"]["version"]


async def test_concurrent_payments_reach_the_topic_in_order_through_a_broker_outage(tansu: Tansu):
    """Payments charged 20 at a time, half refunded twice, before and while the broker is down.

    Two worker processes, one publisher elected between them. Before: each event once on
    the topic, in version order per payment, with the HTTP body.
    While down: HTTP deliveries keep their latency, Kafka holds back every event. After a
    restart on the same port (empty: memory storage): every event made meanwhile arrives.
    Then the publisher's process is SIGKILLed: another takes over, nothing after is lost.
    """
    ports = [free_port(), free_port()]
    env = {"KAFKA_BOOTSTRAP_SERVERS": tansu.bootstrap, "WORKER_METRICS_PORT": str(ports[0])}
    async with fanout_stack(**env) as stack, _second_worker(stack, ports[1]):
        await charge_many(stack, 1)  # the workers are up and publishing before we measure
        await wait_until(lambda: bool(stack.order.delivered_ids()), "the workers to start")
        started = await stack.event_ids()
        await charge_many(stack, 40, refund_every=2)
        before = await stack.event_ids() - started
        await wait_until(lambda: stack.order.delivered_ids() >= before, "HTTP deliveries")
        first = await read_topic(tansu.bootstrap, TOPIC, _covering(before))
        await _all_marked(stack)
        (publisher,) = await stack.query(_ADVISORY_LOCKS)

        await tansu.kill()
        await charge_many(stack, 80, refund_every=2)
        during = await stack.event_ids() - before - started
        await wait_until(lambda: stack.order.delivered_ids() >= during, "deliveries meanwhile")
        held_back = await _unpublished(stack)
        # The publisher's pass times out (10 s), is counted, and the lag has grown meanwhile.
        down = await _scrape_until(ports, _FAILED, lambda value: value >= 1)
        await tansu.start()
        second = await read_topic(tansu.bootstrap, TOPIC, _covering(during), seconds=90)
        await _all_marked(stack)
        outbox_before = await _versions_in_outbox(stack, before)
        outbox = await _versions_in_outbox(stack, during)
        baseline = await _delivery_seconds(stack, before)
        outage = await _delivery_seconds(stack, during)
        up = await _scrape_until(ports, _PUBLISHED, lambda value: value >= 1)

        # The publisher's process killed: another takes the lock and publishes what follows.
        killed = await _publisher_pid(stack)
        os.kill(killed, signal.SIGKILL)
        await charge_many(stack, 20, refund_every=2)
        after_kill = await stack.event_ids() - during - before - started
        third = await read_topic(tansu.bootstrap, TOPIC, _covering(after_kill), seconds=90)
        outbox_after_kill = await _versions_in_outbox(stack, after_kill)
        successor = await _publisher_pid(stack)
    http_bodies = {r["headers"]["webhook-id"]: r["body"] for r in stack.order.received}
    _check_records(first + second, http_bodies)
    assert (len(before), len(during)) == (40 + 2 * 20, 80 + 2 * 40)
    assert _versions_on_topic(first, before) == outbox_before  # each once, in order
    assert publisher["held"] == 1  # one of the two holds the publisher's lock
    assert held_back == len(during)
    # At least once: a batch the broker took just as it died may come again, in order.
    after = _versions_on_topic(second, during)
    assert {payment: sorted(set(v)) for payment, v in after.items()} == outbox
    assert sum(map(len, after.values())) >= len(during)
    assert all(versions == sorted(versions) for versions in after.values())
    assert _total(up, _PUBLISHED) >= 1 + len(before) + len(during)
    assert _total(down, "payments_kafka_oldest_unpublished_age_seconds") > 0
    assert successor != killed
    on_topic = _versions_on_topic(third, after_kill)
    assert {payment: sorted(set(v)) for payment, v in on_topic.items()} == outbox_after_kill
    assert all(versions == sorted(versions) for versions in on_topic.values())
    median, worst = statistics.median(outage), max(outage)
    print(
        f"HTTP delivery after commit: median {statistics.median(baseline):.3f} s "
        f"(max {max(baseline):.3f} s) with the broker up, median {median:.3f} s "
        f"(max {worst:.3f} s) with it down"
    )
    # A publisher blocking the worker's loop would hold deliveries for its 10 s send timeout.
    assert worst < 5.0


_PUBLISHER = """
SELECT a.application_name FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
_PUBLISHED = "payments_kafka_events_published_total"
_FAILED = 'payments_kafka_publish_failures_total{stage="broker"}'


async def _publisher_pid(stack: Stack) -> int:
    """The process holding the publisher's lock, from its connection's application_name."""
    for _ in range(100):
        rows = await stack.query(_PUBLISHER)
        if rows:
            return int(rows[0]["application_name"].removeprefix(PUBLISHER_NAME))
        await asyncio.sleep(0.1)
    raise AssertionError("no process holds the publisher's lock")


@asynccontextmanager
async def _second_worker(stack: Stack, metrics_port: int) -> AsyncIterator[None]:
    """Another `payments worker` on the stack, serving its metrics on a port of its own."""
    with WorkerProcess.start({**stack.env, "WORKER_METRICS_PORT": str(metrics_port)}):
        yield


async def _scrape_until(ports: list[int], name: str, wanted: Callable[[float], bool]) -> list[str]:
    """Every worker's metrics once sample `name`, summed over them, has a `wanted` value."""
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            scraped = [(await client.get(f"http://127.0.0.1:{p}/metrics")).text for p in ports]
            if wanted(_total(scraped, name)):
                return scraped
            await asyncio.sleep(0.1)
    raise AssertionError(f"{name} never as wanted")


def _total(expositions: list[str], name: str) -> float:
    """Sample `name` (with its labels) summed over Prometheus expositions; 0 where absent."""
    return sum(
        float(line.split()[-1])
        for exposition in expositions
        for line in exposition.splitlines()
        if line.startswith(f"{name} ")
    )


async def test_without_kafka_bootstrap_servers_nothing_is_published_or_held(http, worker):
    """KAFKA_BOOTSTRAP_SERVERS unset: the worker relays, but runs no publisher, marks nothing."""
    payment = (await charge(http, new_subject()))["payment"]
    for _ in range(600):  # the worker process may still be starting
        events = await OutboxEvent.filter(payment_id=payment["id"])
        if events and all(event.relayed_at for event in events):
            break
        await asyncio.sleep(0.1)
    assert events and all(event.relayed_at for event in events)
    assert all(event.kafka_published_at is None for event in events)
    connection = connections.get("default")
    assert (await connection.execute_query_dict(_ADVISORY_LOCKS))[0]["held"] == 0
