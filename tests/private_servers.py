"""PostgreSQL and Redis servers of a test's own, on free ports, that the test may stop and kill."""

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio

from tests.support import free_port

# The newest PostgreSQL installed (Debian's layout); initdb and pg_ctl are not on PATH there.
_POSTGRES_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/bin"))


async def _run(*command: str) -> None:
    # Run as the postgres user when we are root: PostgreSQL refuses to run as root.
    prefix = ("runuser", "-u", "postgres", "--") if os.geteuid() == 0 else ()
    process = await asyncio.create_subprocess_exec(
        *prefix, *command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, errors = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {errors.decode(errors='replace')}")


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory; `stop` and `start` it at will."""

    directory: Path
    port: int = field(default_factory=free_port)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    async def start(self) -> None:
        """Start the cluster and return once it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = str(_POSTGRES_BIN / "pg_ctl")
        log = str(self.directory / "server.log")
        await _run(
            pg_ctl, "-D", str(self.directory / "data"), "-o", options, "-l", log, "-w", "start"
        )

    async def stop(self) -> None:
        """A fast shutdown: open connections are cut, as when the server goes away."""
        await _run(
            str(_POSTGRES_BIN / "pg_ctl"),
            "-D",
            str(self.directory / "data"),
            "-m",
            "fast",
            "-w",
            "stop",
        )

    async def create_database(self, name: str) -> str:
        await self.fetch("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    async def fetch(self, database: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        """One statement on a connection of its own: the server may have restarted since."""
        connection = await asyncpg.connect(self.url(database))
        try:
            rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
        finally:
            await connection.close()
        return rows


@asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    """A fresh cluster (trust auth), started; stopped and deleted afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="payments-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    server = PrivatePostgres(directory)
    initdb = str(_POSTGRES_BIN / "initdb")
    data = str(directory / "data")
    await _run(initdb, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
    await server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(RuntimeError):  # the test may have left it stopped
            await server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class PrivateRedis:
    """A Redis that keeps nothing on disk: killed and started again, it comes back empty."""

    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Start the server and return once it answers PING."""
        self.process = await asyncio.create_subprocess_exec(
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            stdout=subprocess.DEVNULL,
        )
        client = redis.asyncio.Redis.from_url(self.url)
        try:
            for _ in range(200):
                try:
                    await client.ping()
                    return
                except redis.exceptions.ConnectionError:
                    await asyncio.sleep(0.025)
        finally:
            await client.aclose()
        raise RuntimeError("the private redis-server did not start")

    async def kill(self) -> None:
        """SIGKILL: every queued and delayed message it held is gone."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()


@asynccontextmanager
async def private_redis() -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis()
    await server.start()
    try:
        yield server
    finally:
        await server.kill()
