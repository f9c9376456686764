"""The webhook inbox backlog: stored Stripe events that the worker has not processed yet."""

from datetime import UTC, datetime

from models.enums import InboxStatus
from models.inbox import WebhookEvent
from payments.shared import metrics


async def webhook_backlog() -> tuple[int, float]:
    """How many stored events are still RECEIVED, and the oldest one's age in seconds (0: none)."""
    pending = WebhookEvent.filter(status=InboxStatus.RECEIVED)
    count = await pending.count()
    oldest = await pending.order_by("received_at").first().only("id", "received_at")
    age = (datetime.now(UTC) - oldest.received_at).total_seconds() if oldest else 0.0
    return count, age


async def observe_webhook_backlog() -> None:
    """Set the backlog gauges that the webhook-backlog alert reads (from the relay's beat)."""
    count, age = await webhook_backlog()
    metrics.WEBHOOK_BACKLOG.set(count)
    metrics.WEBHOOK_BACKLOG_AGE.set(age)
