"""Carries the enqueuing request's id in each Dramatiq message and binds it while it runs."""

from typing import Any

import dramatiq
import structlog
from dramatiq.middleware import Middleware

from payments.shared.correlation import MESSAGE_OPTION, bind_request_id, current_request_id


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
