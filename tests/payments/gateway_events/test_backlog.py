"""The webhook backlog gauges count stored events still waiting and age the oldest of them."""

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from models.enums import InboxStatus
from models.inbox import WebhookEvent
from payments.gateway_events.backlog import observe_webhook_backlog, webhook_backlog
from payments.gateway_events.inbox import store_event
from tests.webhooks.factories import body_of, envelope_of, event, intent, new_id


async def test_backlog_counts_received_events_and_ages_the_oldest(database_url: str) -> None:
    """A RECEIVED event ten minutes old is counted and aged; a processed one is not counted."""
    before, _ = await webhook_backlog()
    waiting = event("payment_intent.succeeded", intent(new_id("pi")))
    done = event("payment_intent.succeeded", intent(new_id("pi")))
    waiting_id = await store_event("stripe", body_of(waiting), envelope_of(waiting))
    done_id = await store_event("stripe", body_of(done), envelope_of(done))
    old = datetime.now(UTC) - timedelta(minutes=10)
    await WebhookEvent.filter(id=waiting_id).update(received_at=old)
    await WebhookEvent.filter(id=done_id).update(status=InboxStatus.PROCESSED)
    try:
        count, age = await webhook_backlog()
        await observe_webhook_backlog()
        assert count == before + 1
        assert age >= 600
        assert REGISTRY.get_sample_value("payments_webhook_backlog_events") == count
        assert (
            REGISTRY.get_sample_value("payments_webhook_backlog_oldest_age_seconds") or 0
        ) >= 600
    finally:
        await WebhookEvent.filter(id__in=[waiting_id, done_id]).delete()
