"""The webhook backlog gauges count stored events still waiting and age the oldest of them."""

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from models.enums import InboxStatus
from models.inbox import WebhookEvent
from payments.gateway_events.backlog import observe_webhook_backlog, webhook_backlog
from payments.gateway_events.inbox import store_event
from tests.webhooks.factories import body_of, envelope_of, event, intent, new_id


async def test_backlog_counts_received_events_and_ages_the_oldest(database_url: str) -> None:
    """A RECEIVED event ten minutes old is counted and aged; a processed one is not counted.

    The inbox is shared with other tests' servers, whose delayed webhooks may land at any
    time: each claim is measured as a difference of two reads made back to back.
    """
    waiting = event("payment_intent.succeeded", intent(new_id("pi")))
    done = event("payment_intent.succeeded", intent(new_id("pi")))
    waiting_id = await store_event("stripe", body_of(waiting), envelope_of(waiting))
    done_id = await store_event("stripe", body_of(done), envelope_of(done))
    old = datetime.now(UTC) - timedelta(minutes=10)
    await WebhookEvent.filter(id=waiting_id).update(received_at=old)
    await WebhookEvent.filter(id=done_id).update(status=InboxStatus.PROCESSED)
    try:
        with_waiting, age = await webhook_backlog()
        await WebhookEvent.filter(id=waiting_id).update(status=InboxStatus.PROCESSED)
        without_waiting, _ = await webhook_backlog()
        assert with_waiting - without_waiting == 1  # the RECEIVED one counted
        await WebhookEvent.filter(id=done_id).update(status=InboxStatus.RECEIVED)
        with_done, _ = await webhook_backlog()
        assert with_done - without_waiting == 1  # counted only once it is RECEIVED again
        assert age >= 600
        await WebhookEvent.filter(id=waiting_id).update(status=InboxStatus.RECEIVED)
        await observe_webhook_backlog()
        assert (REGISTRY.get_sample_value("payments_webhook_backlog_events") or 0) >= 2
        assert (
            REGISTRY.get_sample_value("payments_webhook_backlog_oldest_age_seconds") or 0
        ) >= 600
    finally:
        await WebhookEvent.filter(id__in=[waiting_id, done_id]).delete()
