"""`payments worker` and signals: a clean stop and a kill both end the process promptly."""

import asyncio
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

from redis.asyncio import Redis

from tests.conftest import REDIS_URL, settings_env
from tests.processes import WorkerProcess

# Well past a clean stop's ~2 s here, well short of the 20 s the process was left to run.
EXIT_BOUND_SECONDS = 8.0


async def started_worker(settings) -> tuple[WorkerProcess, int]:
    """A worker on queues of its own, yielded once its relay beats; and its worker child."""
    namespace = f"signals-{uuid.uuid4().hex[:8]}"
    env = settings_env(settings.model_copy(update={"queue_namespace": namespace}))
    worker = WorkerProcess(WorkerProcess.spawn(env), env)
    redis = Redis.from_url(REDIS_URL)
    try:
        # The relay's first sweep marks the broker: the worker has booted and its loop runs.
        for _ in range(300):
            if await redis.exists(f"{namespace}:relay:broker-marker"):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the worker's relay never beat")
        await redis.delete(f"{namespace}:relay:broker-marker")
    finally:
        await redis.aclose()
    (child,) = children(worker.process.pid)
    return worker, child


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def exit_seconds(process: "subprocess.Popen[bytes]") -> float:
    start = time.monotonic()
    try:
        process.wait(timeout=EXIT_BOUND_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return float("inf")
    return time.monotonic() - start


async def test_sigterm_to_the_supervisor_stops_the_worker_cleanly(settings):
    """What Kubernetes and Docker send: one SIGTERM to PID 1, forwarded to each worker."""
    worker, _ = await started_worker(settings)
    worker.process.send_signal(signal.SIGTERM)
    assert exit_seconds(worker.process) < EXIT_BOUND_SECONDS
    assert worker.process.returncode == 0


async def test_a_second_sigterm_ends_the_worker_instead_of_leaving_it_running(settings):
    """`pkill` or a signal to the group reaches a worker twice: Dramatiq's "kill" path.

    The second one exits the worker's main thread at once; its event loop's thread used to
    keep the process alive until SIGKILL, the relay failing every beat meanwhile.
    """
    worker, child = await started_worker(settings)
    os.kill(child, signal.SIGTERM)
    await asyncio.sleep(0.2)
    os.kill(child, signal.SIGTERM)
    assert exit_seconds(worker.process) < EXIT_BOUND_SECONDS
    assert children(worker.process.pid) == []
