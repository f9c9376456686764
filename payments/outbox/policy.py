"""The delivery judgement: how hard to try, and what one POST's answer makes of a delivery."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from models.enums import DeliveryStatus
from models.outbox import OutboxDelivery, OutboxEvent
from payments.shared.settings import Settings

OPEN = (DeliveryStatus.PENDING, DeliveryStatus.ENQUEUED)
_RETRYABLE_STATUS = frozenset({408, 429})
# The columns an attempt writes; None for the last three keeps what the row has.
ATTEMPT_COLUMNS = (
    "status",
    "attempts",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "enqueued_at",
    "delivered_at",
    "dead_at",
)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard we try (the DELIVERY_* settings), whatever the endpoint."""

    max_attempts: int = 20
    min_backoff_ms: int = 1000
    max_backoff_ms: int = 600_000
    # An endpoint whose last this many deliveries were dead-lettered is disabled.
    disable_after_dead: int = 10
    connect_timeout: float = 3.0
    read_timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "DeliveryPolicy":
        return cls(
            max_attempts=settings.delivery_max_attempts,
            min_backoff_ms=settings.delivery_min_backoff_ms,
            max_backoff_ms=settings.delivery_max_backoff_ms,
            disable_after_dead=settings.endpoint_disable_after_failures,
        )

    @property
    def deadline(self) -> float:
        """The longest one attempt may take, end to end, in seconds."""
        return self.connect_timeout + self.read_timeout

    @property
    def lease(self) -> timedelta:
        """The longest a batch may hold its deliveries before another may take them."""
        return timedelta(seconds=2 * self.deadline)

    def backoff_ms(self, attempts: int) -> int:
        """Exponential backoff with jitter, within the configured bounds."""
        ceiling = min(self.max_backoff_ms, self.min_backoff_ms * 2 ** max(attempts - 1, 0))
        return max(self.min_backoff_ms, int(ceiling * random.uniform(0.5, 1.0)))


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRIED = "retried"
    DEAD = "dead"


@dataclass(frozen=True)
class Claim:
    """A delivery a batch holds, with its event, while `lease` is its fencing token."""

    delivery: OutboxDelivery
    event: OutboxEvent
    lease: datetime  # later writes apply only while the row still carries it


@dataclass(frozen=True)
class Attempt:
    """One POST's outcome, decided in memory and recorded with the rest of the batch."""

    claim: Claim
    outcome: Outcome
    columns: dict[str, Any]  # every name of ATTEMPT_COLUMNS
    retry_in_ms: int | None = None

    @property
    def finished(self) -> bool:
        """Delivered or dead: the payment's next version may go."""
        return self.outcome is not Outcome.RETRIED


def retryable(status_code: int | None) -> bool:
    """No answer, a timeout or throttling answer, or a server error: worth another attempt."""
    return status_code is None or status_code in _RETRYABLE_STATUS or status_code >= 500


def judge(
    claim: Claim, status_code: int | None, error: str | None, policy: DeliveryPolicy
) -> Attempt:
    """What one attempt makes of its delivery: delivered, retried after a backoff, or dead."""
    now = datetime.now(UTC)
    attempts = claim.delivery.attempts + 1
    columns: dict[str, Any] = dict.fromkeys(ATTEMPT_COLUMNS)
    columns.update(attempts=attempts, last_status_code=status_code, last_error=error)
    if status_code is not None and 200 <= status_code < 300:
        columns.update(status=DeliveryStatus.DELIVERED, delivered_at=now)
        return Attempt(claim, Outcome.DELIVERED, columns)
    if not retryable(status_code) or attempts >= policy.max_attempts:
        columns.update(status=DeliveryStatus.DEAD, dead_at=now)
        return Attempt(claim, Outcome.DEAD, columns)
    delay = policy.backoff_ms(attempts)
    due = now + timedelta(milliseconds=delay)
    columns.update(status=DeliveryStatus.ENQUEUED, next_attempt_at=due, enqueued_at=now)
    return Attempt(claim, Outcome.RETRIED, columns, delay)
