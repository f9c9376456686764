"""The Kafka publisher against a real broker: key, body, headers, version order, outages."""

import json
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka import Message, Producer

from models.outbox import OutboxEvent
from payments.outbox.kafka import (
    EventsNotAcknowledged,
    new_producer,
    publish_pending,
    send_runs,
    unpublished_runs,
)
from payments.outbox.relay import prune_delivered
from tests.tansu import Tansu, headers_of, read_topic

pytestmark = pytest.mark.usefixtures("database_url")

Records = list[Message]


async def _payment_events(versions: int, relayed: bool = True) -> list[OutboxEvent]:
    """A payment's events 1..versions, as the relay leaves them (relayed, not published)."""
    payment_id = f"pay_{uuid.uuid4().hex}"
    relayed_at = datetime.now(UTC) if relayed else None
    return [
        await OutboxEvent.create(
            payment_id=payment_id,
            version=version,
            type=f"payment.v{version}",
            payload={"id": f"body-{payment_id}-{version}", "data": {"version": version}},
            relayed_at=relayed_at,
        )
        for version in range(1, versions + 1)
    ]


def _producer(tansu: Tansu, delivery_timeout_ms: int = 10_000) -> Producer:
    return new_producer(tansu.bootstrap, delivery_timeout_ms)


async def _publish_all(producer: Producer, topic: str) -> None:
    while await publish_pending(producer, topic):
        pass


def _versions_by_key(records: Records, keys: set[str]) -> dict[str, list[int]]:
    versions: dict[str, list[int]] = defaultdict(list)
    for record in records:
        key = (record.key() or b"").decode()
        if key in keys:
            versions[key].append(int(headers_of(record)["payment-version"]))
    return versions


def _has(keys: set[str], count: int) -> Callable[[Records], bool]:
    return lambda records: sum(len(v) for v in _versions_by_key(records, keys).values()) >= count


async def test_each_event_goes_out_keyed_by_payment_with_its_body_and_headers(tansu: Tansu):
    """Key = payment id, value = the HTTP body byte for byte, the three headers; then marked."""
    topic = f"events-{uuid.uuid4().hex[:8]}"
    events = [event for _ in range(3) for event in await _payment_events(3)]
    await _publish_all(_producer(tansu), topic)
    keys = {event.payment_id for event in events}
    records = await read_topic(tansu.bootstrap, topic, _has(keys, len(events)))
    by_id = {headers_of(r)["event-id"].decode(): r for r in records}
    for event in events:
        record = by_id[event.id]
        assert record.key() == event.payment_id.encode()
        assert record.value() == json.dumps(event.payload, separators=(",", ":")).encode()
        assert headers_of(record) == {
            "event-id": event.id.encode(),
            "event-type": event.type.encode(),
            "payment-version": str(event.version).encode(),
        }
    assert _versions_by_key(records, keys) == {key: [1, 2, 3] for key in keys}
    marked = OutboxEvent.filter(id__in=[e.id for e in events], kafka_published_at__isnull=False)
    assert await marked.count() == len(events)


async def test_no_version_goes_before_an_earlier_one_the_relay_has_not_taken(tansu: Tansu):
    """Version 2 stamped before version 1 (another machine's clock) waits for version 1."""
    first, second = await _payment_events(2, relayed=False)
    await OutboxEvent.filter(id=second.id).update(
        relayed_at=datetime.now(UTC), created_at=first.created_at - timedelta(seconds=1)
    )
    runs = await unpublished_runs(10_000)
    assert second.payment_id not in {run[0].payment_id for run in runs}

    await OutboxEvent.filter(id=first.id).update(relayed_at=datetime.now(UTC))
    topic = f"events-{uuid.uuid4().hex[:8]}"
    await _publish_all(_producer(tansu), topic)
    records = await read_topic(tansu.bootstrap, topic, _has({first.payment_id}, 2))
    assert _versions_by_key(records, {first.payment_id}) == {first.payment_id: [1, 2]}


async def test_a_broker_down_marks_nothing_and_a_later_pass_sends_everything(tansu: Tansu):
    """Sends to a killed broker fail the pass; nothing is marked; after a restart all go."""
    events = [event for _ in range(5) for event in await _payment_events(2)]
    topic = f"events-{uuid.uuid4().hex[:8]}"
    producer = _producer(tansu, delivery_timeout_ms=1000)
    producer.produce(topic, b"warm-up")  # the topic's metadata is known
    assert producer.flush(10) == 0
    await tansu.kill()
    with pytest.raises(EventsNotAcknowledged):
        await publish_pending(producer, topic)
    ids = [event.id for event in events]
    assert not await OutboxEvent.filter(id__in=ids, kafka_published_at__isnull=False).exists()

    await tansu.start()
    await _publish_all(_producer(tansu), topic)
    keys = {event.payment_id for event in events}
    records = await read_topic(tansu.bootstrap, topic, _has(keys, len(events)))
    assert _versions_by_key(records, keys) == {key: [1, 2] for key in keys}


async def test_events_acknowledged_but_not_marked_are_sent_again_in_order(tansu: Tansu):
    """A crash between the broker's ack and the mark: the next pass re-sends (at least once)."""
    events = [event for _ in range(4) for event in await _payment_events(3)]
    keys = {event.payment_id for event in events}
    topic = f"events-{uuid.uuid4().hex[:8]}"
    producer = _producer(tansu)
    runs = [run for run in await unpublished_runs(10_000) if run[0].payment_id in keys]
    acknowledged, failure = await send_runs(producer, topic, runs)  # ... and no mark
    assert failure is None and sorted(acknowledged) == sorted(e.id for e in events)
    await _publish_all(producer, topic)
    records = await read_topic(tansu.bootstrap, topic, _has(keys, 2 * len(events)))
    assert _versions_by_key(records, keys) == {key: [1, 2, 3, 1, 2, 3] for key in keys}


async def test_pruning_keeps_what_kafka_has_not_acknowledged():
    """Past retention, with Kafka on, an event goes only once published; without, as before."""
    waiting, published = (event for (event,) in [await _payment_events(1) for _ in range(2)])
    month_ago = datetime.now(UTC) - timedelta(days=30)
    await OutboxEvent.filter(id__in=[waiting.id, published.id]).update(created_at=month_ago)
    await OutboxEvent.filter(id=published.id).update(kafka_published_at=datetime.now(UTC))

    await prune_delivered(timedelta(days=20), kafka=True)
    assert await OutboxEvent.filter(id__in=[waiting.id, published.id]).values_list(
        "id", flat=True
    ) == [waiting.id]
    await prune_delivered(timedelta(days=20))
    assert not await OutboxEvent.exists(id=waiting.id)
