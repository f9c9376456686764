"""The container files are valid and follow the production rules."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")
def test_compose_file_is_valid():
    """`docker compose config` accepts docker-compose.yml (no engine needed)."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    result = subprocess.run(
        ["docker", "compose", "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


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
