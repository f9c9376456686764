"""`python -m bench`: every scenario of issue 7 beside a baseline measured in the same run."""

import asyncio
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.cpu import cpu_ms_per_request
from bench.lifecycle import lifecycle_rows
from bench.live import live_rows
from bench.stack import (
    JWT_SECRET,
    ROOT,
    WEBHOOK_SECRET,
    Stack,
    json_line,
    rss_mb,
    running_stack,
)
from payments.shared.auth import issue_token
from payments.shared.signatures import stripe_signature_header

DURATION = os.environ.get("BENCH_DURATION", "10s")
WARMUP = os.environ.get("BENCH_WARMUP", "3s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
CPU_REQUESTS = int(os.environ.get("BENCH_CPU_REQUESTS", "1000"))
LIFECYCLE_REQUESTS = int(os.environ.get("BENCH_LIFECYCLE_REQUESTS", "2000"))
# "lifecycle" runs rows 10 and 11 only (a short check of the intent and capture paths);
# "live" rows 12 to 14 only (subscriptions and paymentStats, issue 17); "fanout" rows 7 and 9
# only (the outgoing-event path of issue 18).
ONLY = os.environ.get("BENCH_ONLY", "")
SUBJECT = "bench-customer"
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
    scenario: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""


async def wrk(url: str, script: str, duration: str = DURATION, **env: str) -> dict:
    # Asynchronous, so the receivers served by this process keep answering meanwhile.
    process = await asyncio.create_subprocess_exec(
        "wrk",
        "-t2",
        f"-c{CONNECTIONS}",
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


async def measured(name: str, url: str, script: str, **env: str) -> Row:
    await wrk(url, script, WARMUP, **env)
    r = await wrk(url, script, **env)
    return Row(name, r["rps"], r["p50_us"] / 1000, r["p99_us"] / 1000, r["errors"])


def graphql_body(query: str) -> str:
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
    return [answer["data"]["chargePayment"]["payment"]["id"] for answer in answers]


async def cpu_costs(stack: Stack, token: str, read: str) -> list[Row]:
    """9. CPU per request by process: a charge with its fan-out, and a payment(id)."""

    async def charges_delivered() -> None:
        await seed_payments(stack, token, CPU_REQUESTS)
        await drained(stack)

    async def reads() -> None:
        await post_all(stack, token, [json.loads(read)] * CPU_REQUESTS)

    await drained(stack)  # the write baseline's events, relayed and delivered like any others
    rows = []
    for name, run_them in (
        ("a charge, fan-out included", charges_delivered),
        ("a payment(id)", reads),
    ):
        costs = await cpu_ms_per_request(stack, CPU_REQUESTS, run_them)
        row = Row(f"9. CPU ms per request: {name}", 0, 0, 0, 0)
        row.target = " / ".join(f"{part} {ms:.1f}" for part, ms in costs.items())
        rows.append(row)
    return rows


def signed_events(count: int) -> Path:
    path = Path(tempfile.mkstemp(suffix=".events")[1])
    now = int(time.time())
    with path.open("w") as file:
        for _ in range(count):
            body = json.dumps(
                {
                    "id": f"evt_bench_{uuid.uuid4().hex}",
                    "object": "event",
                    "type": "charge.updated",
                    "created": now,
                    "data": {"object": {"id": "ch_x"}},
                }
            )
            file.write(f"{stripe_signature_header(WEBHOOK_SECRET, body.encode(), now)}\t{body}\n")
    return path


async def pgbench_tps(database_url: str) -> float:
    process = await asyncio.create_subprocess_exec(
        "pgbench",
        "-n",
        "-c",
        "8",
        "-j",
        "2",
        "-T",
        DURATION.rstrip("s"),
        "-f",
        str(ROOT / "bench" / "charge.pgbench"),
        database_url,
        stdout=subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    line = next(line for line in stdout.decode().splitlines() if line.startswith("tps"))
    return float(line.split("=")[1].split()[0])


async def end_to_end(stack: Stack, token: str, rate: int = 200, seconds: int = 10) -> Row:
    """Charges at a fixed rate; delay from commit to receipt by both services."""
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
                rows = await stack.sql(
                    "SELECT count(*) FROM outbox_deliveries WHERE status <> 'DELIVERED'"
                )
                backlog.append(rows[0][0])
        # A charge the overloaded API drops counts as lost below, instead of ending the run.
        await asyncio.gather(*tasks, return_exceptions=True)
    burst_over = time.time()
    await drained(stack)
    caught_up = time.time() - burst_over
    rows = await stack.sql(
        "SELECT id, extract(epoch from created_at) AS t FROM outbox_events "
        "WHERE created_at >= to_timestamp($1)",
        started,
    )
    for row in rows:
        arrivals = stack.receivers.arrivals.get(row["id"], {})
        if len(arrivals) == 2:
            latencies.append((max(arrivals.values()) - float(row["t"])) * 1000)
    final = (await stack.sql("SELECT count(*) FROM outbox_deliveries WHERE status <> 'DELIVERED'"))[
        0
    ][0]
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    lost = len(rows) - len(latencies)
    return Row(
        f"7. end to end at {rate}/s (commit->both receivers)",
        len(latencies) / seconds,
        quantiles[49],
        quantiles[98],
        lost,
        target=f"p50<100 p99<500 ms, backlog {max(backlog or [0])}->{final}, "
        f"caught up {caught_up:.1f} s after the burst",
    )


async def drained(stack: Stack, seconds: int = 180) -> None:
    """Wait until the worker has caught up, so its backlog cannot slow the next scenario."""
    for _ in range(seconds * 2):
        rows = await stack.sql(
            "SELECT (SELECT count(*) FROM outbox_deliveries WHERE status <> 'DELIVERED')"
            " + (SELECT count(*) FROM outbox_events WHERE relayed_at IS NULL)"
            " + (SELECT count(*) FROM webhook_events WHERE status = 'RECEIVED')"
        )
        if rows[0][0] == 0:
            return
        await asyncio.sleep(0.5)


def verdict(row: Row, ok: bool) -> None:
    row.verdict = "PASS" if ok else "MISS"


async def lifecycle(stack: Stack, token: str) -> list[Row]:
    """10. createPaymentIntent and 11. capturePayment, each with its own fresh payments."""
    measured = await lifecycle_rows(stack.api, token, LIFECYCLE_REQUESTS, CONNECTIONS)
    await drained(stack)
    return [Row(*row) for row in measured]


async def fanout(stack: Stack, token: str) -> list[Row]:
    """7. end to end and 9. CPU per charge: the outgoing-event path alone (issue 18)."""
    await seed_payments(stack, token, 50)  # warms the worker's caches and connections
    await drained(stack)
    e2e = await end_to_end(stack, token)
    return [e2e, *await cpu_costs(stack, token, graphql_body("{ payments(first: 1) { id } }"))]


async def live(stack: Stack) -> list[Row]:
    """12. push latency beside idle subscribers, 13. their memory, 14. paymentStats."""
    await drained(stack)  # pushes ride the relay: a backlog left by earlier rows would delay them
    rows = [Row(*row[:5], target=row[5]) for row in await live_rows(stack)]
    verdict(rows[0], rows[0].p99_ms < 1000 and rows[0].errors == 0)  # "within a second"
    return rows


async def run() -> list[Row]:
    token = issue_token(JWT_SECRET, SUBJECT, "payments:read payments:write payments:refund", 7200)
    async with running_stack() as stack:
        if ONLY == "lifecycle":
            return await lifecycle(stack, token)
        if ONLY == "live":
            return await live(stack)
        if ONLY == "fanout":
            return await fanout(stack, token)
        ids = await seed_payments(stack, token, 400)
        await drained(stack)
        # First, on a quiet stack; each write scenario is followed by a drain, so the
        # backlog it leaves the worker cannot slow the next measurement.
        e2e = await end_to_end(stack, token)
        await drained(stack)
        env = {"BENCH_TOKEN": token}
        api = stack.api
        read_base = await measured(
            "read baseline (Starlette + asyncpg)", f"{stack.baseline}/payment/{ids[0]}", "get.lua"
        )
        rss_warm = {pid: rss_mb(pid) for pid in stack.worker_pids("api")}
        rows = [read_base]
        one = graphql_body(f'{{ payment(id: "{ids[0]}") {{ {PAYMENT_FIELDS} }} }}')
        rows.append(await measured("1. payment(id)", api, "graphql.lua", BENCH_BODY=one, **env))
        page = graphql_body(
            "{ payments(first: 20) { nodes { id status refunds { amount } events { status } } } }"
        )
        rows.append(
            await measured(
                "2. payments(first: 20) + refunds + events",
                api,
                "graphql.lua",
                BENCH_BODY=page,
                **env,
            )
        )
        rows.append(
            await measured(
                "3. chargePayment, fresh keys", api, "graphql.lua", BENCH_BODY=CHARGE, **env
            )
        )
        await drained(stack)
        replay = CHARGE.replace("KEY", "bench-replay")
        rows.append(
            await measured("4. chargePayment replay", api, "graphql.lua", BENCH_BODY=replay, **env)
        )
        refund = json.dumps(
            {
                "query": "mutation($i: RefundPaymentInput!, $k: String!) { refundPayment("
                "input: $i, idempotencyKey: $k) { refund { id } errors { code } } }",
                "variables": {"k": "KEY", "i": {"paymentId": "PAYMENT_ID", "amount": 1}},
            }
        )
        rows.append(
            await measured(
                "5. refundPayment of 1 unit",
                api,
                "graphql.lua",
                BENCH_BODY=refund,
                BENCH_IDS=",".join(ids),
                **env,
            )
        )
        await drained(stack)
        events = signed_events(200_000)
        rows.append(
            await measured(
                "6. signed Stripe webhook ingestion", api, "webhooks.lua", BENCH_EVENTS=str(events)
            )
        )
        await drained(stack)
        write_base = await pgbench_tps(stack.database_url)
        rows.append(Row("write baseline (pgbench, a charge's SQL)", write_base, 0, 0, 0))
        rows.append(e2e)
        rows.append(await memory(stack, one, env, rss_warm))
        rows += await lifecycle(stack, token)
        rows += await cpu_costs(stack, token, one)
        # Last: its 100,000 inserted payments would change what the rows above read.
        rows += await live(stack)
    judge(rows, read_base.rps, write_base)
    return rows


async def memory(stack: Stack, body: str, env: dict[str, str], warm: dict[int, float]) -> Row:
    """RSS of each API worker after warm-up, after ~50k and ~100k payment(id) requests."""
    done, at_half = 0, {}
    while done < 100_000:
        done += (await wrk(stack.api, "graphql.lua", "10s", BENCH_BODY=body, **env))["requests"]
        if not at_half and done >= 50_000:
            at_half = {pid: rss_mb(pid) for pid in stack.worker_pids("api")}
    final = {pid: rss_mb(pid) for pid in stack.worker_pids("api")}
    growth = max((final[p] - at_half[p]) / at_half[p] * 100 for p in final if p in at_half)
    worst = max(final.values())
    row = Row("8. memory per API worker (MB, after warm-up / 50k / 100k)", 0, 0, 0, 0)
    row.target = (
        f"{'/'.join(f'{warm.get(p, 0):.0f}' for p in final)} -> "
        f"{'/'.join(f'{at_half.get(p, 0):.0f}' for p in final)} -> "
        f"{'/'.join(f'{final[p]:.0f}' for p in final)}; growth {growth:.1f}%"
    )
    verdict(row, worst < 150 and growth < 5)
    return row


def judge(rows: list[Row], read_base: float, write_base: float) -> None:
    targets = {
        "1.": (
            lambda r: r.rps >= 0.3 * read_base and r.p99_ms < 25,
            ">=30% of read baseline, p99<25ms",
            read_base,
        ),
        "3.": (lambda r: r.rps >= 500 and r.p99_ms < 50, ">=500/s, p99<50ms", write_base),
        "4.": (lambda r: r.rps >= 1500, ">=1500/s", write_base),
        "6.": (lambda r: r.rps >= 1500 and r.p99_ms < 50, ">=1500/s, p99<50ms", None),
        "7.": (lambda r: r.p50_ms < 100 and r.p99_ms < 500 and r.errors == 0, None, None),
    }
    for row in rows:
        key = row.scenario[:2]
        if key in targets:
            check, text, base = targets[key]
            verdict(row, check(row))
            row.target = text or row.target
            if base:
                row.baseline, row.ratio = f"{base:.0f}/s", f"{row.rps / base:.2f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | req/s | p50 ms | p99 ms | errors | baseline | ratio | target | verdict |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {r.rps:.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} "
            f"| {r.baseline} | {r.ratio} | {r.target} | {r.verdict} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.splitlines()[1]
    total = " ".join(memory.split()[:2])
    return f"{os.cpu_count()} cores ({cpu}); {total}; load generator on the same machine"


def main() -> None:
    rows = asyncio.run(run())
    report = table(rows)
    print(report)
    if ONLY:
        return  # a partial run does not replace the full results
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    (ROOT / "bench" / "results.md").write_text(
        f"# Benchmark results\n\n{stamp}. Machine: {machine()}.\n"
        f"wrk -t2 -c{CONNECTIONS} -d{DURATION} after a {WARMUP} warm-up; API: `payments serve "
        f"--workers 2`, `payments worker`, simulated gateway, PostgreSQL and Redis local.\n\n"
        f"{report}\n"
    )


if __name__ == "__main__":
    main()
