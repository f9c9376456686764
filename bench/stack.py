"""Starts what the benchmark measures: a database, the API, the worker, receivers, baselines."""

import asyncio
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.tasks.closing_consumer import closing_consumer

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
WEBHOOK_SECRET = "whsec_YmVuY2gtc3RyaXBlLXdlYmhvb2stc2VjcmV0"
JWT_SECRET = "bench-jwt-secret-0123456789abcdef0123456789"


@dataclass
class Receivers:
    """Tiny order/notification services recording when each event id arrived."""

    arrivals: dict[str, dict[str, float]] = field(default_factory=dict)

    def app(self, name: str) -> Starlette:
        async def receive(request: Request) -> Response:
            self.arrivals.setdefault(request.headers["webhook-id"], {})[name] = time.time()
            return Response(status_code=204)

        return Starlette(routes=[Route("/events", receive, methods=["POST"])])

    @asynccontextmanager
    async def kept_alive(self, name: str) -> AsyncIterator[str]:
        """`name`'s receiver under uvicorn here, keeping connections alive; its base URL."""
        async with serve_here(self.app(name)) as url:
            yield url

    @asynccontextmanager
    async def closing(self, name: str) -> AsyncIterator[str]:
        """`name`'s receiver on Python's http.server in its own process, a connection a request."""

        def took(record: dict[str, Any]) -> None:
            self.arrivals.setdefault(record["headers"]["webhook-id"], {})[name] = record["at"]

        async with closing_consumer(took) as url:
            yield url


@dataclass
class Stack:
    api: str
    baseline: str
    database_url: str
    env: dict[str, str]
    receivers: Receivers
    processes: dict[str, asyncio.subprocess.Process]
    # How many receivers get every event (an event has arrived once it reached them all).
    receiving: int = 2

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.database_url)
        try:
            return await connection.fetch(query, *args)
        finally:
            await connection.close()

    def worker_pids(self, name: str) -> list[int]:
        """The pids of a process and its children (uvicorn's workers)."""
        parent = self.processes[name].pid
        children = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True)
        return [int(pid) for pid in children.stdout.split()] or [parent]


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


@asynccontextmanager
async def running_stack(
    root: Path = ROOT,
    bin_dir: Path = BIN,
    closing_consumers: bool = False,
    endpoints: int = 2,
    settings: Mapping[str, str] | None = None,
) -> AsyncIterator[Stack]:
    """Everything up, everything torn down (processes killed, database dropped) on exit.

    `root` holds the code the API and worker import and `bin_dir` the venv's commands, so
    another revision of the service can run beside the same receivers and baselines. With
    `closing_consumers`, both receivers close the connection after each answer. `endpoints`
    receivers get every event: the order service alone for 1; order and notification (from
    the environment) and, past 2, endpoints registered with `payments endpoints create`.
    `settings` are environment variables the API and worker get besides the benchmark's.
    """
    receivers = Receivers()
    receiver = receivers.closing if closing_consumers else receivers.kept_alive
    names = ["order", "notification", *(f"endpoint-{n}" for n in range(3, endpoints + 1))]
    async with AsyncExitStack() as stack:
        urls = [
            f"{await stack.enter_async_context(receiver(name))}/events"
            for name in names[:endpoints]
        ]
        database_url = await stack.enter_async_context(scratch_database())
        env = {**_env(root, database_url, *urls[:2]), **(settings or {})}
        await _run(bin_dir / "payments", "migrate", env=env)
        for url in urls[2:]:
            await _run(bin_dir / "payments", "endpoints", "create", url, env=env)
        processes = {}
        api_port, baseline_port = _free_port(), _free_port()
        processes["api"] = await stack.enter_async_context(
            _process(
                [
                    str(bin_dir / "payments"),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(api_port),
                    "--workers",
                    "2",
                ],
                env,
                root,
            )
        )
        processes["worker"] = await stack.enter_async_context(
            _process(
                [str(bin_dir / "payments"), "worker", "--processes", "1", "--threads", "8"],
                env,
                root,
            )
        )
        processes["baseline"] = await stack.enter_async_context(
            _process(
                [
                    str(bin_dir / "uvicorn"),
                    "bench.baseline_app:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(baseline_port),
                    "--workers",
                    "2",
                    "--log-level",
                    "warning",
                ],
                env,
                root,
            )
        )
        api, baseline = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{baseline_port}"
        await _wait_http(f"{api}/health/live", processes["api"])
        await _wait_http(f"{baseline}/payment/none", processes["baseline"])
        yield Stack(api, baseline, database_url, env, receivers, processes, len(urls))


def _env(
    root: Path, database_url: str, order_url: str, notification_url: str = ""
) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "QUEUE_NAMESPACE": f"bench-{uuid.uuid4().hex[:8]}",
        "GATEWAY": "simulated",
        "JWT_SECRET": JWT_SECRET,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ORDER_SERVICE_URL": order_url,
        "NOTIFICATION_SERVICE_URL": notification_url,  # empty: no such endpoint
        "OUTBOUND_WEBHOOK_SECRET": "whsec_YmVuY2gtb3V0Ym91bmQtc2VjcmV0",
        "RATE_LIMIT_DEFAULT": "off",
        "RATE_LIMIT_CHARGE": "off",
        "LOG_LEVEL": "WARNING",
        "RELAY_INTERVAL_MS": "100",
        "DATABASE_POOL_SIZE": "10",
        "PYTHONPATH": str(root),
    }


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A new, empty database on the benchmark's PostgreSQL, dropped on exit."""
    name = f"payments_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def _process(
    command: list[str], env: dict[str, str], cwd: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        cwd=cwd,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                os.killpg(process.pid, signal.SIGKILL)


@asynccontextmanager
async def serve_here(app: Starlette) -> AsyncIterator[str]:
    """`app` under uvicorn in this process, on a free loopback port; its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _run(command: Path, *args: str, env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(str(command), *args, env=env)
    if await process.wait() != 0:
        raise RuntimeError(f"{command} {' '.join(args)} failed")


async def _wait_http(url: str, process: asyncio.subprocess.Process) -> None:
    # Two minutes: on the shared 2-core machine at load 9-10, 30 s was once too few.
    async with httpx.AsyncClient() as client:
        for _ in range(1200):
            if process.returncode is not None:
                raise RuntimeError(f"{url}: its process exited ({process.returncode})")
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def bench_module(
    root: Path, module: str, *args: str, env: Mapping[str, str]
) -> dict[str, Any]:
    """The BENCH line of `python -m module args` importing `root`'s code (another revision's)."""
    process = await asyncio.create_subprocess_exec(
        str(BIN / "python"),
        "-m",
        module,
        *args,
        cwd=root,
        env={**os.environ, **env, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{module} under {root} failed ({process.returncode})")
    return json_line(stdout.decode())


def json_line(output: str) -> dict[str, Any]:
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH "))
    return result
