"""Dramatiq's Prometheus exporter for `payments worker`, bound to WORKER_METRICS_HOST/PORT."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from dramatiq.middleware import Middleware

from payments.shared.multiprocess import multiprocess_directory


@contextmanager
def worker_metrics_environment(host: str, port: int | None) -> Iterator[None]:
    """Prepare the worker supervisor, before it forks, when WORKER_METRICS_PORT is set.

    Every worker writes its samples (Dramatiq's and the service's own `payments_*`) into
    one fresh directory, and the exporter process serves all of it on one address.
    """
    if port is None:
        yield
        return
    with multiprocess_directory() as directory:
        os.environ.update(dramatiq_prom_db=directory)
        _export_address(host, port)
        yield


def worker_metrics_middleware(host: str, port: int) -> Middleware:
    """Dramatiq's Prometheus middleware; its exporter binds WORKER_METRICS_HOST, not 0.0.0.0."""
    _export_address(host, port)
    # The module reads its address and directory from the environment when imported.
    from dramatiq.middleware.prometheus import Prometheus

    return Prometheus()


def _export_address(host: str, port: int) -> None:
    # Dramatiq reads these lower-case names (and environment names are case-sensitive).
    os.environ.update(dramatiq_prom_host=host, dramatiq_prom_port=str(port))
