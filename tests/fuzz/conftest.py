"""A real `payments serve` whose log the fuzzers read: an ERROR or a traceback is a finding."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from payments.shared.settings import Settings
from tests.conftest import settings_env
from tests.processes import api_process

_FAULT_MARKS = ('"level": "error"', '"level": "critical"', "Traceback")


# An ERROR (or worse) line or a traceback, uvicorn's own included, is a fault of ours.
_FAULT_MARKS = ('"level": "error"', '"level": "critical"', "Traceback")


@dataclass(frozen=True)
class LoggedApi:
    url: str
    log: Path

    def written(self) -> int:
        """How many bytes of log there are so far, to read only what a request adds."""
        return self.log.stat().st_size

    def error_lines(self, since: int = 0) -> list[str]:
        """The log's fault lines after byte `since`."""
        with self.log.open("rb") as log:
            log.seek(since)
            lines = log.read().decode(errors="replace").splitlines()
        return [line for line in lines if any(mark in line for mark in _FAULT_MARKS)]


@pytest.fixture(scope="module")
async def logged_api(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LoggedApi]:
    log = tmp_path_factory.mktemp("api") / "serve.log"
    with log.open("wb") as output:
        async with api_process(settings_env(settings), output=output) as api:
            yield LoggedApi(api.url, log)


# A new connection for every request, as a client per request had: no request rides on a
# connection an earlier hostile one left behind, nor on one the server is closing as idle.
_A_CONNECTION_A_REQUEST = httpx.Limits(max_keepalive_connections=0)


@asynccontextmanager
async def _client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=base_url, timeout=30, limits=_A_CONNECTION_A_REQUEST
    ) as client:
        yield client


@pytest.fixture(scope="module")
async def logged_client(logged_api: LoggedApi) -> AsyncIterator[httpx.AsyncClient]:
    """One client for a module's requests to `logged_api`.

    Building an httpx client loads the CA bundle (~60 ms of CPU): one per request would spend
    minutes of a run on certificates that plain-HTTP requests never use.
    """
    async with _client(logged_api.url) as client:
        yield client


@pytest.fixture(scope="module")
async def server_client(server: str) -> AsyncIterator[httpx.AsyncClient]:
    """One client for a module's requests to the in-process `server`, as `logged_client`."""
    async with _client(server) as client:
        yield client
