"""Reading PayPal webhook events: the envelope the inbox keeps, and the update it reports."""

import json
from datetime import UTC, datetime

from payments.gateways.base import EventEnvelope, GatewayUpdate


def read_paypal_envelope(body: bytes) -> EventEnvelope | None:
    """A verified body's id, event type and creation time; None unless it is such an event.

    None answers 400, so that PayPal stops resending what can never be stored.
    """
    try:
        event = _event(body.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    if event is None:
        return None
    event_id, event_type = event.get("id"), event.get("event_type")
    if not (isinstance(event_id, str) and isinstance(event_type, str)):
        return None
    return EventEnvelope(event_id, event_type, _time(event.get("create_time")))


def read_paypal_event(payload: str) -> GatewayUpdate:
    """The update a stored PayPal event reports: none yet, so the inbox marks it ignored.

    The events' effects (the order's capture, captures' and refunds' outcomes) are read
    by the PayPal rail's own reader, which replaces this one.
    """
    event = _event(payload) or {}
    return GatewayUpdate(
        event_id=str(event.get("id")),
        type=str(event.get("event_type")),
        occurred_at=_time(event.get("create_time")) or datetime.now(UTC),
        provider_payment_id=None,
        payment_id=None,
        change=None,
    )


def _event(text: str) -> dict[str, object] | None:
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested past Python's stack
        return None
    return event if isinstance(event, dict) else None


def _time(value: object) -> datetime | None:
    """An RFC 3339 time as PayPal writes it (`2024-05-01T10:00:00Z`); None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
        # In UTC, as stored: an offset past year 1 or 9999 is no time at all.
        return moment.astimezone(UTC) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None
