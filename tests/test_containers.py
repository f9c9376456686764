"""The container files are valid and follow the production rules."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


SECRETS = {
    "JWT_SECRET": "compose-test-secret",
    "STRIPE_WEBHOOK_SECRET": "whsec_compose",
    "OUTBOUND_WEBHOOK_SECRET": "whsec_Y29tcG9zZQ==",
}


def _compose() -> list[str]:
    """`docker compose` (the plugin) or Debian's standalone `docker-compose`."""
    if shutil.which("docker") and _succeeds(["docker", "compose", "version"]):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("neither the docker compose plugin nor docker-compose is installed")


def _succeeds(command: list[str]) -> bool:
    return subprocess.run(command, capture_output=True).returncode == 0


def _config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_compose(), "config", "-q"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_is_valid():
    """`docker compose config` accepts docker-compose.yml (no engine needed)."""
    result = _config(SECRETS)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_secrets():
    """No guessable default: without JWT_SECRET the stack is not even configured."""
    result = _config({k: v for k, v in SECRETS.items() if k != "JWT_SECRET"})
    assert result.returncode != 0
    assert "JWT_SECRET" in result.stderr


def test_compose_starts_in_order():
    """The API and worker wait for a successful migration, which waits for healthy PostgreSQL."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert all("healthcheck" in services[name] for name in ("postgres", "redis", "api"))


def test_runtime_image_is_non_root_without_build_tools():
    """The final stage runs as a non-root user, has a healthcheck and no compiler."""
    final_stage = (ROOT / "Dockerfile").read_text().split("\nFROM ")[-1]
    assert "USER payments" in final_stage
    assert "HEALTHCHECK" in final_stage
    assert "build-essential" not in final_stage and "gcc" not in final_stage
