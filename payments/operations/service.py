"""What the CLI's `webhooks` and `deliveries` commands do, for payments:admin principals."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.enums import DeliveryStatus, InboxStatus
from models.inbox import WebhookEvent
from models.outbox import OutboxDelivery
from payments.gateway_events.service import replay_events
from payments.operations.paging import Page, page_by_id, parse_row_id
from payments.outbox.relay import FAILED_DELIVERIES, redrive
from payments.shared.auth import Principal, Scope
from payments.shared.errors import NotFound
from payments.shared.input_rules import as_utc
from payments.shared.rows import could_match


@dataclass(frozen=True)
class WebhookEventFilter:
    statuses: Sequence[InboxStatus] = ()
    type: str | None = None
    provider: str | None = None
    stripe_event_id: str | None = None
    received_after: datetime | None = None
    received_before: datetime | None = None


@dataclass(frozen=True)
class DeliveryFilter:
    statuses: Sequence[DeliveryStatus] = ()
    consumer: str | None = None
    event_id: str | None = None
    payment_id: str | None = None
    # Dead, or still open after a failed attempt: what `deliveries list --failed` shows.
    failed: bool = False


async def list_webhook_events(
    principal: Principal, first: int, after: str | None, filters: WebhookEventFilter
) -> Page[WebhookEvent]:
    """Stored provider events, newest first, for an admin; Forbidden for anyone else."""
    principal.require(Scope.READ, Scope.ADMIN)
    query = WebhookEvent.filter(**_event_conditions(filters))
    return await page_by_id(query, "webhook_event", first, after)


def _equal_to(model: type[Model], texts: dict[str, str | None]) -> dict[str, object]:
    """Conditions for the given texts; one no stored row could hold matches nothing."""
    given = {name: value for name, value in texts.items() if value is not None}
    if not could_match(model, **given):
        return {"id__in": []}  # never sent to the database
    return dict(given)


def _event_conditions(filters: WebhookEventFilter) -> dict[str, object]:
    conditions = _equal_to(
        WebhookEvent,
        {"type": filters.type, "provider": filters.provider, "event_id": filters.stripe_event_id},
    )
    if filters.statuses:
        conditions["status__in"] = list(filters.statuses)
    if filters.received_after is not None:
        conditions["received_at__gte"] = as_utc(filters.received_after)
    if filters.received_before is not None:
        conditions["received_at__lt"] = as_utc(filters.received_before)
    return conditions


async def list_deliveries(
    principal: Principal, first: int, after: str | None, filters: DeliveryFilter
) -> Page[OutboxDelivery]:
    """Deliveries of payment events to the consumers, newest first, for an admin."""
    principal.require(Scope.READ, Scope.ADMIN)
    return await page_by_id(_delivery_query(filters), "delivery", first, after)


def _delivery_query(filters: DeliveryFilter) -> QuerySet[OutboxDelivery]:
    conditions = _equal_to(
        OutboxDelivery,
        {
            "consumer": filters.consumer,
            "event_id": filters.event_id,
            "payment_id": filters.payment_id,
        },
    )
    if filters.statuses:
        conditions["status__in"] = list(filters.statuses)
    query = OutboxDelivery.filter(**conditions)
    return query.filter(FAILED_DELIVERIES) if filters.failed else query


async def replay_webhook_event(principal: Principal, row_id: str) -> WebhookEvent:
    """Re-run processing of one stored event now, as `payments webhooks replay` does.

    Returns the event as processing left it; NotFound when no such event is stored.
    """
    principal.require(Scope.WRITE, Scope.ADMIN)
    row = await WebhookEvent.get_or_none(id=_row_id(row_id, "Webhook event"))
    if row is None:
        raise NotFound("Webhook event", field="id")
    await replay_events([row.event_id])
    return await WebhookEvent.get(id=row.id)


async def redrive_delivery(principal: Principal, delivery_id: str) -> OutboxDelivery:
    """Re-open a dead delivery for a fresh round of attempts, as `deliveries redrive` does.

    A delivery that is not dead is left as it is (nothing to re-drive). The worker's
    relay sends it on its next sweep. NotFound when no such delivery exists.
    """
    principal.require(Scope.WRITE, Scope.ADMIN)
    row = await OutboxDelivery.get_or_none(id=_row_id(delivery_id, "Delivery"))
    if row is None:
        raise NotFound("Delivery", field="id")
    await redrive(delivery_id=row.id)
    return await OutboxDelivery.get(id=row.id)


def _row_id(value: str, what: str) -> int:
    # An id that no BIGINT row could have reads as not found, never as a database error.
    row_id = parse_row_id(value)
    if row_id is None:
        raise NotFound(what, field="id")
    return row_id
