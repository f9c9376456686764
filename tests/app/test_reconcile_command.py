"""`payments reconcile`: one pass of missed-event recovery and reconciliation, from the CLI."""

import re
import subprocess

from tests.conftest import settings_env
from tests.processes import PAYMENTS


def test_reconcile_reports_what_it_recovered_and_settled(settings):
    """Against the simulated gateway (no event log) it recovers nothing and exits 0."""
    env = {**settings_env(settings), "LOG_LEVEL": "ERROR"}
    done = subprocess.run(
        [PAYMENTS, "reconcile"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(
        r"payments: 0 missed gateway events recovered \(0 applied\), \d+ payments and refunds "
        r"reconciled\n",
        done.stdout,
    ), done.stdout
