"""Real child processes for tests: `payments worker` (and anything else run by command)."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

PAYMENTS = str(Path(sys.executable).with_name("payments"))
ONE_PROCESS = ("--processes", "1", "--threads", "4")


@dataclass
class WorkerProcess:
    """A `payments worker` supervisor and its children, in their own process group."""

    process: "subprocess.Popen[bytes]"
    env: dict[str, str]

    @classmethod
    @contextmanager
    def start(
        cls, env: dict[str, str], args: Sequence[str] = ONE_PROCESS
    ) -> Iterator["WorkerProcess"]:
        worker = cls(cls.spawn(env, args), env)
        try:
            yield worker
        finally:
            worker.stop()

    @staticmethod
    def spawn(env: dict[str, str], args: Sequence[str] = ONE_PROCESS) -> "subprocess.Popen[bytes]":
        process = subprocess.Popen(
            [PAYMENTS, "worker", *args],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL if not os.environ.get("TEST_WORKER_LOGS") else None,
            stderr=subprocess.DEVNULL if not os.environ.get("TEST_WORKER_LOGS") else None,
        )
        time.sleep(0.5)
        if process.poll() is not None:
            raise RuntimeError(f"payments worker exited at start with {process.returncode}")
        return process

    def kill_hard(self) -> None:
        """SIGKILL the whole group: no shutdown hooks run, in-flight messages are abandoned."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def restart(self, args: Sequence[str] = ONE_PROCESS) -> None:
        self.process = self.spawn(self.env, args)

    def stop(self) -> None:
        """SIGTERM to the supervisor alone, as Kubernetes sends it; it stops its workers."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill_hard()


@dataclass
class ApiProcess:
    url: str
    process: "asyncio.subprocess.Process"


@asynccontextmanager
async def api_process(
    env: dict[str, str], *args: str, port: int | None = None, output: Any = subprocess.DEVNULL
) -> AsyncIterator[ApiProcess]:
    """A real `payments serve` on 127.0.0.1, ready (live) when yielded, stopped afterwards."""
    port = port or _free_port()
    process = await asyncio.create_subprocess_exec(
        PAYMENTS,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *args,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_live(url)
        yield ApiProcess(url, process)
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGTERM)
            await process.wait()


async def wait_until_live(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                await client.get(f"{url}/health/live")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not start")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
