"""The repository's own gates: lint, types, layer contracts and the committed SDL."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SOURCES = ["app", "graph", "models", "webhooks", "tasks", "payments", "tests", "bench"]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_committed_schema_matches_the_code():
    """schema.graphql equals `payments export-schema` (CI fails when it drifts)."""
    exported = _run(str(BIN / "payments"), "export-schema")
    assert exported.returncode == 0, exported.stderr
    assert (ROOT / "schema.graphql").read_text() == exported.stdout


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", *SOURCES),
        ("ruff", "format", "--check", *SOURCES),
        ("mypy", "app", "graph", "models", "webhooks", "tasks", "payments"),
        ("lint-imports",),
    ],
    ids=["ruff", "ruff-format", "mypy", "import-linter"],
)
def test_static_checks_pass(command):
    """ruff, mypy (strict) and import-linter report nothing."""
    result = _run(str(BIN / command[0]), *command[1:])
    assert result.returncode == 0, result.stdout + result.stderr
