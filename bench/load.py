"""Load and measurement helpers shared by the benchmark's scenarios: wrk, drains, CPU costs."""

import asyncio
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.cpu import cpu_ms_per_request
from bench.stack import ROOT, Stack, json_line

DURATION = os.environ.get("BENCH_DURATION", "10s")
WARMUP = os.environ.get("BENCH_WARMUP", "3s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
# Rows measured beside a baseline (1 and 2) alternate with it in this many turns.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CPU_REQUESTS = int(os.environ.get("BENCH_CPU_REQUESTS", "1000"))
PAYMENT_FIELDS = "id status amount currency version"
CHARGE = (
    # Keys travel as variables, as a real client sends them: the document stays the same,
    # so the parser and validation caches hit (an inlined key re-validates every request).
    '{"query": "mutation($i: ChargePaymentInput!, $k: String!) { chargePayment(input: $i, '
    "idempotencyKey: $k) { payment { " + PAYMENT_FIELDS + ' } errors { code } } }", '
    '"variables": {"k": "KEY", "i": {"orderId": "o", "amount": 1500, "currency": "USD", '
    '"paymentMethodId": "pm_card_visa"}}}'
)


@dataclass
class Row:
    """One line of a results table."""

    scenario: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""


async def wrk(
    url: str, script: str, duration: str = DURATION, connections: int = CONNECTIONS, **env: str
) -> dict:
    """Run wrk with a Lua script; its BENCH line, with the requests per second added."""
    # Asynchronous, so the receivers served by this process keep answering meanwhile.
    process = await asyncio.create_subprocess_exec(
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{duration}",
        "--latency",
        "-s",
        str(ROOT / "bench" / "lua" / script),
        url,
        env={**os.environ, "BENCH_NONCE": uuid.uuid4().hex, **env},
        stdout=subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    result = json_line(stdout.decode())
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


async def measured(
    name: str, url: str, script: str, connections: int = CONNECTIONS, **env: str
) -> Row:
    """A row of wrk's figures, measured after a warm-up.

    A script that sends from a file (webhooks.lua) starts past what the warm-up answered
    and had in flight (BENCH_FIRST): a replayed event is answered as a duplicate, cheaper.
    """
    warm = await wrk(url, script, WARMUP, connections, **env)
    first = str(warm["requests"] + connections)
    r = await wrk(url, script, DURATION, connections, BENCH_FIRST=first, **env)
    return Row(name, r["rps"], r["p50_us"] / 1000, r["p99_us"] / 1000, r["errors"])


@dataclass(frozen=True)
class Load:
    """What one wrk run sends: a row's name, the URL, the Lua script and its environment."""

    name: str
    url: str
    script: str
    env: Mapping[str, str]


async def side_by_side(baseline: Load, api: Load, rounds: int = ROUNDS) -> tuple[Row, Row]:
    """The baseline's row and the API's, measured in turns so the machine's drifts hit both.

    Each warms up, then `rounds` turns of DURATION / rounds each: baseline, API, baseline...
    req/s is over all turns; p50 and p99 are the median of the turns' (wrk reports no
    distribution to merge). On a shared machine whose speed moves by a third between runs
    minutes apart, the ratio of two runs back to back read that drift as the API's.
    """
    seconds = max(1, round(_seconds(DURATION) / rounds))
    turns: dict[str, list[dict[str, Any]]] = {baseline.name: [], api.name: []}
    for load in (baseline, api):
        await wrk(load.url, load.script, WARMUP, CONNECTIONS, **load.env)
    for _ in range(rounds):
        for load in (baseline, api):
            run = await wrk(load.url, load.script, f"{seconds}s", CONNECTIONS, **load.env)
            turns[load.name].append(run)
    rows = []
    for load in (baseline, api):
        runs = turns[load.name]
        row = Row(
            load.name,
            sum(r["requests"] for r in runs) / sum(r["duration_us"] / 1e6 for r in runs),
            statistics.median(r["p50_us"] for r in runs) / 1000,
            statistics.median(r["p99_us"] for r in runs) / 1000,
            sum(r["errors"] for r in runs),
        )
        rows.append(row)
    return rows[0], rows[1]


def _seconds(duration: str) -> float:
    """A wrk duration (`10s`, `2m`) in seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    return float(duration[:-1]) * units[duration[-1]] if duration[-1] in units else float(duration)


def events_file(events: Iterable[tuple[Mapping[str, str], bytes]]) -> Path:
    """A file of signed webhook events (headers, body), as bench/lua/webhooks.lua sends them."""
    path = Path(tempfile.mkstemp(suffix=".events")[1])
    with path.open("w") as file:
        for headers, body in events:
            signed = "|".join(f"{name}: {value}" for name, value in headers.items())
            file.write(f"{signed}\t{body.decode()}\n")
    return path


def graphql_body(query: str) -> str:
    """A GraphQL request body without variables."""
    return json.dumps({"query": query})


async def post_all(stack: Stack, token: str, bodies: list[dict]) -> list[dict]:
    """POST each GraphQL body, 16 at a time; the decoded responses."""
    async with httpx.AsyncClient(base_url=stack.api, timeout=60) as client:
        limit = asyncio.Semaphore(16)

        async def one(body: dict) -> dict:
            async with limit:
                headers = {"Authorization": f"Bearer {token}"}
                response = await client.post("/graphql", json=body, headers=headers)
                decoded: dict = response.json()
                return decoded

        return await asyncio.gather(*(one(body) for body in bodies))


async def seed_payments(stack: Stack, token: str, count: int) -> list[str]:
    """Charge `count` fresh payments (16 at a time); their ids."""
    body = json.loads(CHARGE.replace("KEY", "seed"))
    charges = [
        {
            "query": body["query"],
            "variables": {
                "k": f"seed-{i}-{uuid.uuid4().hex}",
                "i": {**body["variables"]["i"], "amount": 100_000},
            },
        }
        for i in range(count)
    ]
    answers = await post_all(stack, token, charges)
    refused = [answer for answer in answers if not answer.get("data")]
    if refused:
        raise RuntimeError(f"{len(refused)} seed charges failed, the first: {refused[0]}")
    return [answer["data"]["chargePayment"]["payment"]["id"] for answer in answers]


async def charge_costs(stack: Stack, token: str, count: int = CPU_REQUESTS) -> dict[str, float]:
    """CPU ms per charge by process, its relay and both deliveries included."""

    async def charges_delivered() -> None:
        await seed_payments(stack, token, count)
        await drained(stack)

    await drained(stack)  # earlier events, relayed and delivered before the count starts
    return await cpu_ms_per_request(stack, count, charges_delivered)


async def read_costs(stack: Stack, token: str, read: str) -> dict[str, float]:
    """CPU ms per read request by process."""

    async def reads() -> None:
        await post_all(stack, token, [json.loads(read)] * CPU_REQUESTS)

    return await cpu_ms_per_request(stack, CPU_REQUESTS, reads)


async def baseline_costs(stack: Stack, path: str) -> dict[str, float]:
    """CPU ms per GET of the raw baseline's `path`, 16 at a time."""

    async def reads() -> None:
        async with httpx.AsyncClient(base_url=stack.baseline, timeout=60) as client:
            limit = asyncio.Semaphore(16)

            async def one() -> None:
                async with limit:
                    (await client.get(path)).raise_for_status()

            await asyncio.gather(*(one() for _ in range(CPU_REQUESTS)))

    return await cpu_ms_per_request(stack, CPU_REQUESTS, reads)


async def cpu_costs(stack: Stack, token: str, read: str) -> list[Row]:
    """9. CPU per request by process: a charge with its fan-out, and a payment(id)."""
    rows = []
    for name, costs in (
        ("a charge, fan-out included", await charge_costs(stack, token)),
        ("a payment(id)", await read_costs(stack, token, read)),
    ):
        row = Row(f"9. CPU ms per request: {name}", 0, 0, 0, 0)
        row.target = " / ".join(f"{part} {ms:.1f}" for part, ms in costs.items())
        rows.append(row)
    return rows


@dataclass
class Burst:
    """What a burst of charges at a fixed rate left: delivery delays, backlog, catch-up."""

    delivered_per_s: float
    p50_ms: float
    p99_ms: float
    lost: int
    peak_backlog: int
    final_backlog: int
    caught_up_s: float


async def burst_at_rate(stack: Stack, token: str, rate: int = 200, seconds: int = 10) -> Burst:
    """Charges at a fixed rate; delay from commit to receipt by every receiver."""
    latencies, backlog = [], []
    started = time.time()
    async with httpx.AsyncClient(base_url=stack.api, timeout=30) as client:
        tasks = []
        for i in range(rate * seconds):
            await asyncio.sleep(max(0, started + i / rate - time.time()))
            body = json.loads(CHARGE.replace("KEY", f"e2e-{i}-{uuid.uuid4().hex}"))
            tasks.append(
                asyncio.create_task(
                    client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
                )
            )
            if i % rate == 0:
                backlog.append(await open_deliveries(stack))
        # A charge the overloaded API drops counts as lost below, instead of ending the run.
        await asyncio.gather(*tasks, return_exceptions=True)
    caught_up = await seconds_to_drain(stack)
    rows = await stack.sql(
        "SELECT id, extract(epoch from created_at) AS t FROM outbox_events "
        "WHERE created_at >= to_timestamp($1)",
        started,
    )
    for row in rows:
        arrivals = stack.receivers.arrivals.get(row["id"], {})
        if len(arrivals) == stack.receiving:
            latencies.append((max(arrivals.values()) - float(row["t"])) * 1000)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    return Burst(
        delivered_per_s=len(latencies) / seconds,
        p50_ms=quantiles[49],
        p99_ms=quantiles[98],
        lost=len(rows) - len(latencies),
        peak_backlog=max(backlog or [0]),
        final_backlog=await open_deliveries(stack),
        caught_up_s=caught_up,
    )


async def end_to_end(stack: Stack, token: str, rate: int = 200, seconds: int = 10) -> Row:
    """7. A burst at a fixed rate as a row."""
    burst = await burst_at_rate(stack, token, rate, seconds)
    return Row(
        f"7. end to end at {rate}/s (commit->both receivers)",
        burst.delivered_per_s,
        burst.p50_ms,
        burst.p99_ms,
        burst.lost,
        target=f"p50<100 p99<500 ms, backlog {burst.peak_backlog}->{burst.final_backlog}, "
        f"caught up {burst.caught_up_s:.1f} s after the burst",
    )


async def open_deliveries(stack: Stack) -> int:
    """Deliveries not yet made."""
    rows = await stack.sql("SELECT count(*) FROM outbox_deliveries WHERE status <> 'DELIVERED'")
    return int(rows[0][0])


async def seconds_to_drain(stack: Stack) -> float:
    """Seconds from now until every event has reached both consumers (polled every 0.1 s)."""
    started = time.monotonic()
    await drained(stack, poll=0.1)
    return time.monotonic() - started


async def drained(stack: Stack, seconds: int = 180, poll: float = 0.5) -> None:
    """Wait until the worker has caught up, so its backlog cannot slow the next scenario."""
    for _ in range(int(seconds / poll)):
        rows = await stack.sql(
            "SELECT (SELECT count(*) FROM outbox_deliveries WHERE status <> 'DELIVERED')"
            " + (SELECT count(*) FROM outbox_events WHERE relayed_at IS NULL)"
            " + (SELECT count(*) FROM webhook_events WHERE status = 'RECEIVED')"
        )
        if rows[0][0] == 0:
            return
        await asyncio.sleep(poll)
