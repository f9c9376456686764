"""Every metric the alert rules and the dashboard read is one `payments serve`/`worker` exports."""

import asyncio
import contextlib
import re
import time

import httpx

from tests.deploy.promql import expressions, metric_names
from tests.support import free_port, new_subject
from tests.tasks.fanout_support import Stack, fanout_stack

# Samples a family of each type exposes (counters are declared with their `_total`).
SUFFIXES = {
    "counter": ("",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
}
_TYPE = re.compile(r"^# TYPE (\S+) (\w+)$")
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]")
# Only observed in multiprocess mode (the worker's): they appear once a message was handled.
WORKER_SIGNS = {
    "payments_event_deliveries_total",
    "payments_outbox_oldest_undelivered_age_seconds",
    "payments_webhook_backlog_events",
    "dramatiq_messages_total",
}


def exported_names(exposition: str) -> set[str]:
    """Sample names of a Prometheus text exposition, declared (# TYPE) or observed."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if declared := _TYPE.match(line):
            family, kind = declared.groups()
            names.update(family + suffix for suffix in SUFFIXES.get(kind, ("",)))
        elif sample := _SAMPLE.match(line):
            names.add(sample.group(1))
    return names


async def _scrape(stack: Stack, worker_metrics: str) -> tuple[set[str], set[str]]:
    """Charge once, wait until the worker's exposition shows it at work, then scrape both."""
    async with httpx.AsyncClient(base_url=stack.api, timeout=30) as client:
        await stack.charge(client, new_subject())
        deadline = time.monotonic() + 30
        worker: set[str] = set()
        while not worker >= WORKER_SIGNS:
            assert time.monotonic() < deadline, f"worker metrics lack {WORKER_SIGNS - worker}"
            await asyncio.sleep(0.2)
            with contextlib.suppress(httpx.TransportError):
                worker = exported_names((await client.get(worker_metrics)).text)
        api = exported_names((await client.get("/metrics")).text)
    return api, worker


async def test_rules_and_dashboard_read_only_exported_metrics() -> None:
    """Names in alerts.yml and payments.json are all served by the API or the worker."""
    port = free_port()
    async with fanout_stack(WORKER_METRICS_PORT=str(port)) as stack:
        api, worker = await _scrape(stack, f"http://127.0.0.1:{port}/metrics")
        # Shutdown is not under test here, and a worker stopped mid-boot can take its
        # whole shutdown timeout (the relay keeps beating): end it at once.
        stack.worker.kill_hard()
    assert (
        "payments_status_changes_total" in api and "payments_charge_duration_seconds_bucket" in api
    )
    wanted = {name for expression in expressions().values() for name in metric_names(expression)}
    missing = {name for name in wanted if name not in api | worker}
    assert not missing, f"not exported by payments serve or payments worker: {sorted(missing)}"


def test_exported_names_expand_each_declared_family() -> None:
    """A declared histogram yields its _bucket/_sum/_count; observed samples count as well."""
    text = (
        "# HELP h latency\n# TYPE h histogram\n# TYPE c_total counter\n"
        'g{a="1"} 2.0\nc_created 1.7e9\n'
    )
    assert exported_names(text) == {"h_bucket", "h_sum", "h_count", "c_total", "g", "c_created"}
