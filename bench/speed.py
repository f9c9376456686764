"""Issue 18's table: an earlier revision and this one, measured the same way in one run."""

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.load import (
    CHARGE,
    PAYMENT_FIELDS,
    burst_at_rate,
    charge_costs,
    drained,
    graphql_body,
    measured,
    seed_payments,
)
from bench.stack import BIN, ROOT, running_stack

# main before issue 18's work began: the "today" of the issue, installed as it was then.
BEFORE = os.environ.get("BENCH_BEFORE", "78f0491")
ROUNDS = int(os.environ.get("BENCH_SPEED_ROUNDS", "1"))
CHARGE_CONNECTIONS = 16  # as the issue measured: wrk with 16 connections, fresh keys
OUT = ROOT / "bench" / "out"
HEADING = "## Issue 18: the whole stack at speed"


@dataclass
class Figures:
    """One revision's figures from one stack."""

    charges_per_s: float
    charge_p99_ms: float
    catch_up_s: float
    rate_catch_up_s: float
    rate_p50_ms: float
    rate_p99_ms: float
    worker_ms: float
    api_ms: float
    postgres_ms: float
    read_share: float
    read_p99_ms: float
    load_average: float


@dataclass
class Line:
    """A row of the table: how to read a figure, and the target it is judged against."""

    label: str
    field: str
    issue_said: str
    target: str
    met: Callable[[float], bool] | None
    digits: int = 1


LINES = [
    Line(
        "charges/s, full stack with worker and both consumers",
        "charges_per_s",
        "~110",
        ">= 300",
        lambda v: v >= 300,
        0,
    ),
    Line("  their p99 ms", "charge_p99_ms", "", "", None),
    Line(
        "seconds until both consumers have every event after that 10 s burst",
        "catch_up_s",
        "~11",
        "<= 2",
        lambda v: v <= 2,
    ),
    Line(
        "the same after a 10 s burst at a fixed 200 charges/s",
        "rate_catch_up_s",
        "",
        "<= 2",
        lambda v: v <= 2,
    ),
    Line("  commit -> both consumers at 200/s, p50 ms", "rate_p50_ms", "", "< 100", None, 0),
    Line("  commit -> both consumers at 200/s, p99 ms", "rate_p99_ms", "", "< 500", None, 0),
    Line(
        "worker CPU ms per charge (relay + 2 deliveries)",
        "worker_ms",
        "15-19",
        "<= 3",
        lambda v: v <= 3,
    ),
    Line("API CPU ms per charge", "api_ms", "~9", "<= 4", lambda v: v <= 4),
    Line("PostgreSQL CPU ms per charge (every postgres process)", "postgres_ms", "", "", None),
    Line(
        "payment(id), share of the raw Starlette+asyncpg baseline",
        "read_share",
        "0.25-0.39",
        ">= 0.45",
        lambda v: v >= 0.45,
        2,
    ),
    Line("payment(id) p99 ms", "read_p99_ms", "", "< 25", lambda v: v < 25),
    Line(
        "1-min load average as its stack started (earlier stacks' included)",
        "load_average",
        "",
        "",
        None,
    ),
]


async def figures(root: Path, bin_dir: Path, token: str) -> Figures:
    """Start one revision's stack and take every figure of the table from it."""
    load_average = os.getloadavg()[0]
    async with running_stack(root, bin_dir) as stack:
        ids = await seed_payments(stack, token, 400)  # warms caches, pools and connections
        await drained(stack)
        env = {"BENCH_TOKEN": token}
        charges = await measured(
            "charges", stack.api, "graphql.lua", CHARGE_CONNECTIONS, BENCH_BODY=CHARGE, **env
        )
        started = time.monotonic()
        await drained(stack, poll=0.1)
        catch_up = time.monotonic() - started
        burst = await burst_at_rate(stack, token)
        costs = await charge_costs(stack, token)
        base = await measured("baseline", f"{stack.baseline}/payment/{ids[0]}", "get.lua")
        one = graphql_body(f'{{ payment(id: "{ids[0]}") {{ {PAYMENT_FIELDS} }} }}')
        read = await measured("payment(id)", stack.api, "graphql.lua", BENCH_BODY=one, **env)
    return Figures(
        charges_per_s=charges.rps,
        charge_p99_ms=charges.p99_ms,
        catch_up_s=catch_up,
        rate_catch_up_s=burst.caught_up_s,
        rate_p50_ms=burst.p50_ms,
        rate_p99_ms=burst.p99_ms,
        worker_ms=costs["worker"],
        api_ms=costs["API"],
        postgres_ms=costs["PostgreSQL"],
        read_share=read.rps / base.rps,
        read_p99_ms=read.p99_ms,
        load_average=load_average,
    )


def installed(revision: str) -> tuple[Path, Path]:
    """The revision's source tree and a venv with it installed as it was then (cached)."""
    sha = git("rev-parse", "--short", revision)
    home = OUT / f"rev-{sha}"
    source, venv = home / "src", home / "venv"
    if not (venv / "bin" / "payments").exists():
        source.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(source)], check=True)
    return source, venv / "bin"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


async def speed(token: str) -> str:
    """Both revisions, `ROUNDS` times each in turn; the table as Markdown."""
    before_root, before_bin = installed(BEFORE)
    runs: dict[str, list[Figures]] = {"before": [], "now": []}
    for _ in range(ROUNDS):
        runs["before"].append(await figures(before_root, before_bin, token))
        runs["now"].append(await figures(ROOT, BIN, token))
    now_label = git("describe", "--always", "--dirty")
    return table(runs, git("rev-parse", "--short", BEFORE), now_label)


def table(runs: dict[str, list[Figures]], before: str, now: str) -> str:
    lines = [
        f"| figure | the issue said | before ({before}) | now ({now}) | target | verdict |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for line in LINES:
        cells = {
            name: [getattr(figures, line.field) for figures in measured]
            for name, measured in runs.items()
        }
        verdict = ""
        if line.met is not None:
            verdict = "PASS" if line.met(statistics.median(cells["now"])) else "MISS"
        shown = {
            name: ", ".join(f"{v:.{line.digits}f}" for v in values)
            for name, values in cells.items()
        }
        lines.append(
            f"| {line.label} | {line.issue_said} | {shown['before']} | {shown['now']} "
            f"| {line.target} | {verdict} |"
        )
    return "\n".join(lines)


def write_section(results: Path, body: str) -> None:
    """Replace this table's section of results.md (or add it), leaving the rest as it is."""
    text = results.read_text() if results.exists() else "# Benchmark results\n"
    start = text.find(HEADING)
    end = text.find("\n## ", start + 1) if start >= 0 else -1
    before = text[:start] if start >= 0 else text.rstrip() + "\n\n"
    after = text[end + 1 :] if end >= 0 else ""
    results.write_text(f"{before}{HEADING}\n\n{body}\n" + (f"\n{after}" if after else ""))


def section(table_text: str, stamp: str, machine: str) -> str:
    """The section's text: how it was measured, then the table."""
    return (
        f"{stamp}, `BENCH_ONLY=speed bench/run.sh`. Machine: {machine}.\n"
        f"Each revision runs in its own stack (`payments serve --workers 2`, `payments worker`, "
        f"two local receivers, the same PostgreSQL and Redis), one after the other; the "
        f"earlier revision from `git archive`, installed in its own venv as its pyproject "
        f"asked. Several values in a cell are rounds ({ROUNDS}), and the verdict takes their "
        f"median.\n\n{table_text}"
    )
