"""`payments endpoints`: the registry from the command line, as the admin mutations change it."""

import subprocess

from models.endpoint import EventEndpoint
from tests.conftest import settings_env
from tests.processes import PAYMENTS


def _run(settings, *args: str, code: int = 0) -> str:
    env = {**settings_env(settings), "LOG_LEVEL": "ERROR"}
    done = subprocess.run(
        [PAYMENTS, "endpoints", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == code, done.stderr
    return done.stdout + done.stderr


async def test_endpoints_command_creates_updates_rotates_recovers_and_deletes(settings):
    """Each subcommand changes the row as its mutation does; create and rotate print secrets."""
    created = _run(settings, "create", "http://127.0.0.1:9/cli", "--event-type", "payment.*")
    endpoint_id, secret = created.split()[0], created.split("secret ")[1].split()[0]
    assert secret.startswith("whsec_")
    assert endpoint_id in _run(settings, "list")
    _run(settings, "update", endpoint_id, "--disable", "--description", "fraud")
    row = await EventEndpoint.get(id=endpoint_id)
    assert (row.enabled, row.description, row.event_types) == (False, "fraud", ["payment.*"])
    rotated = _run(settings, "rotate", endpoint_id).split("secret ")[1].split()[0]
    assert (await EventEndpoint.get(id=endpoint_id)).previous_secret == secret != rotated
    _run(settings, "recover", endpoint_id, "--since", "2026-01-01T00:00:00+00:00")
    refused = _run(settings, "create", "gopher://127.0.0.1/", code=1)
    assert "VALIDATION_ERROR" in refused
    _run(settings, "delete", endpoint_id)
    assert not await EventEndpoint.filter(id=endpoint_id).exists()
    assert "NOT_FOUND" in _run(settings, "rotate", endpoint_id, code=1)
