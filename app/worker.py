"""`payments worker`: Dramatiq worker processes (the periodic jobs run inside them)."""

import sys

from dramatiq import cli as dramatiq_cli

from payments.shared.settings import Settings

WORKER_MODULE = "app.worker_entry"
# On SIGTERM in-flight actors get this long to finish; what is still running after it is
# redelivered (messages are acked only on completion). Below compose's stop_grace_period.
SHUTDOWN_TIMEOUT_MS = 20_000


def run_worker(settings: Settings, *, processes: int, threads: int) -> None:
    """Hand over to Dramatiq's supervisor, which forks, restarts and handles signals."""
    if not settings.redis_url:
        raise SystemExit(
            "payments worker: REDIS_URL is required (payments dev runs its own worker)"
        )
    args = dramatiq_cli.make_argument_parser().parse_args(  # type: ignore[no-untyped-call]
        [
            WORKER_MODULE,
            *("--processes", str(processes), "--threads", str(threads)),
            *("--worker-shutdown-timeout", str(SHUTDOWN_TIMEOUT_MS)),
            "--skip-logging",
        ]
    )
    sys.exit(dramatiq_cli.main(args))  # type: ignore[no-untyped-call]
