"""Prometheus multiprocess mode for several worker processes; imports no prometheus_client.

prometheus_client decides at import time whether samples go to shared files, and forked
workers inherit that decision, so the directory is set before anything imports it.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def multiprocess_directory() -> Iterator[str]:
    """Put the processes started inside in multiprocess mode, in a fresh directory.

    The directory is removed on exit; one the operator set is used as it is (and kept).
    """
    if os.environ.get(MULTIPROCESS_DIR):
        yield os.environ[MULTIPROCESS_DIR]
        return
    directory = tempfile.mkdtemp(prefix="payments-metrics-")
    os.environ[MULTIPROCESS_DIR] = directory
    try:
        yield directory
    finally:
        del os.environ[MULTIPROCESS_DIR]
        shutil.rmtree(directory, ignore_errors=True)
