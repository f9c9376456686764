"""CPU seconds each part of the stack spends per request: steadier than req/s on shared machines."""

import os
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.stack import Stack

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process so far (0 once it has gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def process_tree(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [pid, *(p for child in children.stdout.split() for p in process_tree(int(child)))]


def postgres_pids() -> list[int]:
    found = subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def parts(stack: Stack) -> dict[str, list[int]]:
    return {
        "API": process_tree(stack.processes["api"].pid),
        "worker": process_tree(stack.processes["worker"].pid),
        "PostgreSQL": postgres_pids(),
        "raw baseline": process_tree(stack.processes["baseline"].pid),
    }


async def cpu_ms_per_request(
    stack: Stack, count: int, run: Callable[[], Awaitable[None]]
) -> dict[str, float]:
    """Milliseconds of CPU per request of the API, the worker and PostgreSQL while `run` runs.

    `run` sends `count` requests and returns once their effects are done (fan-out
    included), so the worker's share is the cost of what the requests caused.
    """
    pids = parts(stack)
    before = {name: sum(map(cpu_seconds, group)) for name, group in pids.items()}
    await run()
    after = {name: sum(map(cpu_seconds, group)) for name, group in pids.items()}
    return {name: (after[name] - before[name]) * 1000 / count for name in pids}
