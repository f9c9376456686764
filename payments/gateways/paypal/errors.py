"""PayPal's error answers as one value: its HTTP status, `name` and `details[].issue`s."""

from dataclasses import dataclass
from typing import Any

import structlog

from payments.shared.errors import GatewayUnavailable

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PayPalRefusal(Exception):
    """A 4xx answer: PayPal refused the request and did nothing (the same on every retry)."""

    status: int
    name: str
    issues: tuple[str, ...]
    debug_id: str | None = None

    @classmethod
    def read(cls, status: int, body: Any) -> "PayPalRefusal":
        """The refusal a 4xx body describes; absent or odd fields read as empty."""
        body = body if isinstance(body, dict) else {}
        details = body.get("details")
        issues = tuple(
            str(detail["issue"])
            for detail in (details if isinstance(details, list) else [])
            if isinstance(detail, dict) and isinstance(detail.get("issue"), str)
        )
        name = body.get("name") if isinstance(body.get("name"), str) else body.get("error")
        debug_id = body.get("debug_id")
        return cls(
            status,
            str(name or "UNKNOWN_ERROR"),
            issues,
            debug_id if isinstance(debug_id, str) else None,
        )

    @property
    def issue(self) -> str:
        """The first issue, else the error's name: what PayPal says went wrong."""
        return self.issues[0] if self.issues else self.name

    def has(self, *issues: str) -> bool:
        return any(issue in self.issues for issue in issues)

    @property
    def failure_code(self) -> str:
        """Our failureCode for it: PayPal's issue in lower case (`instrument_declined`)."""
        return self.issue.lower()

    def logged(self, event: str) -> "PayPalRefusal":
        log.warning(
            event,
            status=self.status,
            name=self.name,
            issues=list(self.issues),
            debug_id=self.debug_id,
        )
        return self


def unavailable(status: int | None, debug_id: str | None, error: str) -> GatewayUnavailable:
    """A 5xx, a timeout or a lost connection: the outcome is unknown, a retry replays it."""
    log.warning("paypal_unavailable", http_status=status, debug_id=debug_id, error=error)
    return GatewayUnavailable()
