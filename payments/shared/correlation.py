"""The request (correlation) id of the work in progress, for logs, queued messages and events.

The API binds one per HTTP request (the client's `X-Request-ID` when well formed, else a
new one); the Dramatiq middleware in `tasks/middleware.py` copies it into every message
enqueued meanwhile (option `request_id`) and binds it again while a worker runs that
message. Code that sends something outward reads `current_request_id()` and passes it on
as the `X-Request-ID` header (`REQUEST_ID_HEADER`); outside any request it is None.
"""

import re
import uuid
from contextvars import ContextVar

import structlog

from payments.shared.sensitive import contains_card_number, contains_secret

REQUEST_ID_HEADER = "x-request-id"
MESSAGE_OPTION = "request_id"
# Ids end up in logs and headers: a bounded, plain alphabet keeps them from injecting either.
_WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{1,128}")
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def accept_request_id(candidate: str | None) -> str:
    """The caller's id when it is well formed, otherwise a fresh one."""
    if candidate and _WELL_FORMED.fullmatch(candidate) and not _sensitive(candidate):
        return candidate
    return uuid.uuid4().hex


def _sensitive(text: str) -> bool:
    return contains_card_number(text) or contains_secret(text)


def bind_request_id(request_id: str | None) -> None:
    """Make `request_id` current for this context and every log line it writes."""
    _request_id.set(request_id)
    if request_id is None:
        structlog.contextvars.unbind_contextvars("request_id")
    else:
        structlog.contextvars.bind_contextvars(request_id=request_id)


def current_request_id() -> str | None:
    """The id bound by the enclosing request or message, if any."""
    return _request_id.get()


def bind_payment_id(payment_id: str) -> None:
    """Tag the rest of this request's (or message's) log lines with the payment it concerns."""
    structlog.contextvars.bind_contextvars(payment_id=payment_id)
