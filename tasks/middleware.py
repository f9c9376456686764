"""Per-worker set-up: the database on the worker's event loop, queue polling, request ids."""

from typing import Any

import dramatiq
import structlog
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from payments.platform.database import close_database, open_database
from payments.shared.correlation import MESSAGE_OPTION, bind_request_id, current_request_id


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


class PromptPolling(Middleware):
    """Caps how long an idle consumer waits between polls of Redis (Dramatiq's default: 1 s).

    Dramatiq's Redis consumer backs off exponentially while its queue is empty, up to the
    worker timeout: a delivery batch enqueued after a quiet moment waited up to a second,
    half of issue 18's end-to-end delay. Each extra poll is one cheap Lua call.
    """

    def __init__(self, poll_ms: int) -> None:
        self.poll_ms = poll_ms

    def before_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        # Read by the consumer threads the worker starts right after this hook.
        worker.worker_timeout = self.poll_ms


class RequestIdMiddleware(Middleware):
    """A message remembers the request that caused it, so one id links API and worker logs.

    Messages sent by an actor inherit the id of the message it is running, so a chain
    (retries, follow-up messages) keeps the first request's id.
    """

    def before_enqueue(self, broker: dramatiq.Broker, message: Any, delay: int | None) -> None:
        request_id = current_request_id()
        if request_id is not None:
            message.options.setdefault(MESSAGE_OPTION, request_id)

    def before_process_message(self, broker: dramatiq.Broker, message: Any) -> None:
        # Worker threads are reused: start each message from a clean log context.
        structlog.contextvars.clear_contextvars()
        bind_request_id(message.options.get(MESSAGE_OPTION))

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        structlog.contextvars.clear_contextvars()
        bind_request_id(None)

    after_skip_message = after_process_message


def _loop_thread() -> Any:
    thread = get_event_loop_thread()
    if thread is None:
        raise RuntimeError("TortoiseMiddleware needs the AsyncIO middleware before it")
    return thread
