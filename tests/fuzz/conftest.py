"""A real `payments serve` whose log the fuzzers read: an ERROR or a traceback is a finding."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

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
