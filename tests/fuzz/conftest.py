"""A real `payments serve` whose log the fuzzers read: an ERROR or a traceback is a finding."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from payments.shared.settings import Settings
from tests.conftest import settings_env
from tests.processes import api_process

_FAULT_MARKS = ('"level": "error"', '"level": "critical"', "Traceback")


@dataclass(frozen=True)
class LoggedApi:
    url: str
    log: Path

    def error_lines(self) -> list[str]:
        """Log lines at ERROR or above, and any traceback (uvicorn's own included)."""
        text = self.log.read_text(errors="replace")
        return [
            line
            for line in text.splitlines()
            if any(
                mark in line for mark in ('"level": "error"', '"level": "critical"', "Traceback")
            )
        ]


@pytest.fixture(scope="module")
async def logged_api(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LoggedApi]:
    log = tmp_path_factory.mktemp("api") / "serve.log"
    with log.open("wb") as output:
        async with api_process(settings_env(settings), output=output) as api:
            yield LoggedApi(api.url, log)
