"""The inbox of verified provider events: stored once by (provider, event id), with bookkeeping."""

from datetime import UTC, datetime, timedelta
from typing import cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.fields import CharField

from models.enums import InboxStatus
from models.inbox import WebhookEvent
from payments.gateways.base import EventEnvelope
from payments.gateways.events import READERS
from payments.shared.errors import NotFound
from payments.shared.input_rules import is_storable, storable
from payments.shared.rows import insert_once

# Settled events are never processed again (a replay re-opens one explicitly).
SETTLED = frozenset({InboxStatus.PROCESSED, InboxStatus.IGNORED})
NEEDS_ATTENTION = (InboxStatus.FAILED, InboxStatus.PARKED)
_EVENT_ID_LENGTH = cast("CharField[str]", WebhookEvent._meta.fields_map["event_id"]).max_length
_EVENT_TYPE_LENGTH = cast("CharField[str]", WebhookEvent._meta.fields_map["type"]).max_length
_INSERTED_COLUMNS = (
    "provider",
    "event_id",
    "type",
    "payload",
    "status",
    "attempts",
    "provider_created_at",
    "received_at",
)


def parse_event(provider: str, body: bytes) -> EventEnvelope | None:
    """A verified body's envelope, read by `provider`'s room, if the inbox can store it.

    None for anything else, so that the route answers 400 and the provider stops resending it.
    """
    envelope = READERS[provider].envelope(body)
    if envelope is None:
        return None
    fits = _storable_text(envelope.event_id, _EVENT_ID_LENGTH) and _storable_text(
        envelope.type, _EVENT_TYPE_LENGTH
    )
    return envelope if fits else None


def _storable_text(value: str, max_length: int) -> bool:
    return 0 < len(value) <= max_length and is_storable(value)


async def store_event(provider: str, raw_body: bytes, envelope: EventEnvelope) -> int | None:
    """Store a verified event once by (provider, event id); the new row's id, or None if known.

    The unique (provider, event_id) and ON CONFLICT DO NOTHING make concurrent deliveries
    of one event race-free: exactly one of them gets a row id back and enqueues it.
    """
    row = WebhookEvent(
        provider=provider,
        event_id=envelope.event_id,
        type=envelope.type,
        payload=raw_body.decode(),
        provider_created_at=envelope.created_at,
        received_at=datetime.now(UTC),
    )
    return await insert_once(row, _INSERTED_COLUMNS, ("provider", "event_id"))


async def lock_event(row_id: int, connection: BaseDBAsyncClient) -> WebhookEvent | None:
    """The stored event with a row lock, so one message processes it at a time."""
    return await WebhookEvent.select_for_update().using_db(connection).get_or_none(id=row_id)


async def finish_event(
    row: WebhookEvent, status: InboxStatus, connection: BaseDBAsyncClient
) -> None:
    """Mark a locked event settled in the transaction that applied its effect."""
    await (
        WebhookEvent.filter(id=row.id)
        .using_db(connection)
        .update(
            status=status, attempts=row.attempts + 1, error=None, processed_at=datetime.now(UTC)
        )
    )


async def record_attempt(row_id: int, error: str, status: InboxStatus) -> int:
    """Count a failed processing attempt and keep its error; returns the attempts so far."""
    # Conditional: a copy of the message (sweep, replay) may have settled it meanwhile,
    # and a late failure must not re-open a processed event.
    unsettled = WebhookEvent.filter(id=row_id).exclude(status__in=SETTLED)
    await unsettled.update(attempts=F("attempts") + 1, error=storable(error[:2000]), status=status)
    row = await WebhookEvent.get(id=row_id)
    return row.attempts


async def park_event(row_id: int) -> None:
    """Stop retrying an event (kept, never dropped) until an operator replays it."""
    await WebhookEvent.filter(id=row_id).update(status=InboxStatus.PARKED)


async def replay_event(event_id: str, provider: str = "stripe") -> int:
    """Re-open a stored event by its provider's id for processing; returns its row id.

    Raises NotFound when no event with that id is stored.
    """
    row = await WebhookEvent.get_or_none(provider=provider, event_id=event_id)
    if row is None:
        raise NotFound(f"{provider} event {event_id}")
    await WebhookEvent.filter(id=row.id).update(status=InboxStatus.RECEIVED, attempts=0)
    return int(row.id)


async def failed_event_ids(provider: str = "stripe") -> list[str]:
    """The provider's ids of its events that failed or were parked, oldest first."""
    rows = WebhookEvent.filter(provider=provider, status__in=NEEDS_ATTENTION)
    rows = rows.order_by("received_at", "id")
    return [row.event_id for row in await rows.only("id", "event_id")]


async def stranded_event_ids(older_than: timedelta) -> list[int]:
    """Rows still unprocessed long after arrival: their message (or its retry) was lost.

    Attempted rows count too: a retry message that vanished with a Redis restart would
    otherwise leave the event RECEIVED forever. Processing twice is harmless.
    """
    cutoff = datetime.now(UTC) - older_than
    rows = WebhookEvent.filter(status=InboxStatus.RECEIVED, received_at__lt=cutoff)
    return [row.id for row in await rows.only("id")]


async def prune_events(older_than: timedelta) -> int:
    """Delete settled events received before `older_than` ago; returns how many.

    Failed and parked events stay until an operator replays them. A pruned event that
    Stripe delivers again is stored and applied again, which the state machine absorbs.
    """
    cutoff = datetime.now(UTC) - older_than
    return await WebhookEvent.filter(status__in=SETTLED, received_at__lt=cutoff).delete()
