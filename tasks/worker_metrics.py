"""Dramatiq's Prometheus exporter for `payments worker`, bound where the settings say."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from dramatiq.middleware import Middleware

from payments.shared.multiprocess import multiprocess_directory
from payments.shared.settings import Settings


@contextmanager
def worker_metrics_environment(settings: Settings) -> Iterator[None]:
    """Prepare the worker supervisor, before it forks, when WORKER_METRICS_PORT is set.

    Every worker writes its samples (Dramatiq's and the service's own `payments_*`) into
    one fresh directory, and the exporter process serves all of it on one address.
    """
    if settings.worker_metrics_port is None:
        yield
        return
    with multiprocess_directory() as directory:
        os.environ.update(dramatiq_prom_db=directory)
        _export_address(settings)
        yield


def worker_metrics_middleware(settings: Settings) -> Middleware:
    """Dramatiq's Prometheus middleware; its exporter binds WORKER_METRICS_HOST, not 0.0.0.0."""
    _export_address(settings)
    # The module reads its address and directory from the environment when imported.
    from dramatiq.middleware.prometheus import Prometheus

    return Prometheus()


def _export_address(settings: Settings) -> None:
    # Dramatiq reads these lower-case names (and environment names are case-sensitive).
    os.environ.update(
        dramatiq_prom_host=settings.worker_metrics_host,
        dramatiq_prom_port=str(settings.worker_metrics_port),
    )
