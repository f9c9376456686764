"""`payments serve` and `worker` processes: production JWT secrets, trusted client addresses."""

import subprocess
import uuid

import httpx
import pytest

from payments.shared.settings import DEV_JWT_SECRET, MIN_JWT_SECRET_BYTES
from tests.conftest import settings_env
from tests.processes import PAYMENTS, api_process


def _production_env(settings, **overrides: str | None) -> dict[str, str]:
    env = {**settings_env(settings), "ENVIRONMENT": "production"}
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize(
    "secret",
    [DEV_JWT_SECRET, "s" * (MIN_JWT_SECRET_BYTES - 1), "x"],
    ids=["development-secret", "31-bytes", "1-byte"],
)
def test_production_refuses_a_guessable_jwt_secret(settings, command, secret):
    """ENVIRONMENT=production with the dev or a short JWT_SECRET: one line on stderr, exit 2."""
    finished = subprocess.run(
        [PAYMENTS, command],
        env=_production_env(settings, JWT_SECRET=secret),
        capture_output=True,
        timeout=60,
    )
    lines = finished.stderr.decode().strip().splitlines()
    assert finished.returncode == 2, finished.stderr
    assert len(lines) == 1 and lines[0].startswith("payments: configuration error: JWT_SECRET: ")
    assert secret not in lines[0]


@pytest.mark.parametrize(
    "secret_settings",
    [
        {"JWT_SECRET": "s" * MIN_JWT_SECRET_BYTES},
        {"JWT_SECRET": None, "JWT_JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json"},
    ],
    ids=["32-bytes", "jwks"],
)
async def test_production_serves_with_a_long_secret_or_jwks(settings, secret_settings):
    """A 32-byte JWT_SECRET, or keys from JWT_JWKS_URL, start production normally."""
    env = _production_env(settings, **secret_settings)
    async with api_process(env) as api, httpx.AsyncClient() as client:
        live = await client.get(f"{api.url}/health/live")
    assert live.status_code == 200


@pytest.mark.parametrize(
    ("trusted", "statuses"),
    [("127.0.0.1", [200, 200, 200]), ("10.9.9.9", [200, 200, 429])],
    ids=["trusted-proxy", "untrusted-peer"],
)
async def test_client_address_comes_from_trusted_proxies_only(settings, trusted, statuses):
    """X-Forwarded-For names the client only when the peer is in FORWARDED_ALLOW_IPS."""
    env = {
        **settings_env(settings),
        "FORWARDED_ALLOW_IPS": trusted,
        "RATE_LIMIT_ANONYMOUS": "2/minute",
        "QUEUE_NAMESPACE": f"rl-{uuid.uuid4().hex}",
    }
    async with api_process(env) as api, httpx.AsyncClient(base_url=api.url) as client:
        answers = [
            await client.post(
                "/graphql",
                json={"query": "{ __typename }"},
                headers={"x-forwarded-for": f"192.0.2.{i}"},
            )
            for i in range(3)
        ]
    assert [answer.status_code for answer in answers] == statuses
