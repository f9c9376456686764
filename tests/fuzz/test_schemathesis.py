"""Fuzz: schemathesis over schema.graphql against a real `payments serve`, per kind of token."""

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from payments.shared.auth import ALL_SCOPES
from tests.support import new_subject, token

ROOT = Path(__file__).resolve().parents[2]
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
SCHEMATHESIS = str(Path(sys.executable).with_name("st"))
TOKENS = {"user": lambda: token(new_subject()), "admin": lambda: token(new_subject(), ALL_SCOPES)}
# Bounded for CI (575 cases, about ten seconds, per token); raise it to hunt for longer.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
RUN_SECONDS = 120 + MAX_EXAMPLES * 5


async def _schemathesis(url: str, bearer: str, report: Path) -> tuple[int, str]:
    """Run `st run` over every query and mutation; its exit code and its output."""
    process = await asyncio.create_subprocess_exec(
        SCHEMATHESIS,
        "run",
        str(ROOT / "schema.graphql"),
        f"--url={url}/graphql",
        f"--header=Authorization: Bearer {bearer}",
        "--checks=no_internal_error",
        f"--max-examples={MAX_EXAMPLES}",
        "--seed=24",
        "--generation-deterministic",
        "--no-shrink",
        "--workers=1",
        "--no-color",
        "--report=junit",
        f"--report-junit-path={report}",
        # Run in a scratch directory: schemathesis leaves its cache where it runs.
        cwd=report.parent,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=RUN_SECONDS)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode or 0, output.decode()


@pytest.mark.parametrize("who", sorted(TOKENS))
async def test_schemathesis_finds_no_internal_error(logged_api, who, tmp_path):
    """Every generated query and mutation is data or a typed error: no 5xx, mask or ERROR log."""
    logged = logged_api.written()
    code, report = await _schemathesis(logged_api.url, TOKENS[who](), tmp_path / "junit.xml")
    generated = re.search(r"(\d+) generated", report)
    cases = int(generated.group(1)) if generated else 0
    print(f"schemathesis with a {who} token: {cases} cases\n{report[-1500:]}")
    assert code == 0, report[-6000:]
    # Every query and mutation ran (23 today): a run that generated nothing proves nothing.
    assert cases >= 20 * MAX_EXAMPLES, report[-3000:]
    assert logged_api.error_lines(since=logged) == []
