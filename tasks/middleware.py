"""Per-worker resources: the database opened on the worker's event loop."""

from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from payments.shared.database import close_database, open_database


class TortoiseMiddleware(Middleware):
    """Opens Tortoise on the AsyncIO middleware's loop after boot, closes it at shutdown.

    Connections belong to the loop that opened them, so actors (which run on that
    loop) must not share the API's connections.
    """

    def __init__(self, database_url: str, pool_size: int) -> None:
        self.database_url = database_url
        self.pool_size = pool_size

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        _loop_thread().run_coroutine(open_database(self.database_url, self.pool_size))

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        # After, not before: Dramatiq joins its worker threads in between, and their
        # in-flight actors still need the database to record what they did.
        _loop_thread().run_coroutine(close_database())


def _loop_thread() -> Any:
    thread = get_event_loop_thread()
    if thread is None:
        raise RuntimeError("TortoiseMiddleware needs the AsyncIO middleware before it")
    return thread
