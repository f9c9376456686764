"""What the relay publishes for each committed change: which payment, which version, whose."""

import json
from collections.abc import Iterable
from dataclasses import dataclass

from models.outbox import OutboxEvent


@dataclass(frozen=True)
class Notice:
    """A committed change; subscribers re-read the payment to push its current state."""

    payment_id: str
    version: int
    customer_id: str


def channel(namespace: str) -> str:
    """The Redis pub/sub channel every API process of one deployment listens on."""
    return f"{namespace}:live:payments"


def notices_of(events: Iterable[OutboxEvent]) -> list[Notice]:
    """The notices of outbox events, in their (version) order."""
    return [
        Notice(event.payment_id, event.version, str(event.payload["data"]["payment"]["customerId"]))
        for event in events
    ]


def encode(notices: Iterable[Notice]) -> str:
    return json.dumps([[n.payment_id, n.version, n.customer_id] for n in notices])


def decode(message: str | bytes) -> list[Notice]:
    """The notices of one published message; a malformed one is no notice at all."""
    try:
        items = json.loads(message)
        return [Notice(str(p), int(v), str(c)) for p, v, c in items]
    except (ValueError, TypeError):
        return []
