"""Structured logging: one JSON line per event, with secrets and card numbers redacted.

Each line has `timestamp`, `level`, `logger`, `message`, and whatever the context bound:
`request_id` (payments/correlation.py), `principal`, `operation`, `payment_id`.
"""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from payments.shared.sensitive import (
    EMAIL_PATTERN,
    SECRET_PATTERN,
    mask_card_numbers,
    may_hold_sensitive,
)

# A customer's email and name are personal data: never written to a log line either.
_SENSITIVE_KEYS = {
    *("authorization", "password", "secret", "token", "card_number", "cvc", "cvv"),
    *("email", "name"),
}


def redact(text: str) -> str:
    """Mask card numbers, known secret formats and emails in `text`; ids stay whole."""
    if not may_hold_sensitive(text):  # every line's every value comes here: keep it cheap
        return text
    masked = SECRET_PATTERN.sub("[REDACTED]", mask_card_numbers(text, "[REDACTED]"))
    return EMAIL_PATTERN.sub("[REDACTED]", masked)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            key: "[REDACTED]" if str(key).lower() in _SENSITIVE_KEYS else _redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value


def _redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message
    return _redacted(dict(event))  # type: ignore[no-any-return]


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Route structlog and the standard library through one redacting renderer."""
    renderer: list[Any] = (
        [structlog.processors.EventRenamer("message"), structlog.processors.JSONRenderer()]
        if fmt == "json"
        else [structlog.dev.ConsoleRenderer(colors=False)]
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redact_event,
    ]
    structlog.configure(
        # Dropping below-level events first keeps disabled logging nearly free on hot paths.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared[:-1], structlog.stdlib.ExtraAdder(), _redact_event],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("tortoise").setLevel(max(logging.INFO, root.level))
