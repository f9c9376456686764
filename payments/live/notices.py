"""What the relay publishes for each committed change: which payment, which version, whose, how."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from models.outbox import OutboxEvent


@dataclass(frozen=True)
class Notice:
    """A committed change, with the payment's row as of its version (`state_of`).

    `state` is None only for events written before their state was kept (migration 0022)
    or published by a relay that did not send it: those are read from the payment.
    """

    payment_id: str
    version: int
    customer_id: str
    state: dict[str, Any] | None = None


def channel(namespace: str) -> str:
    """The Redis pub/sub channel every API process of one deployment listens on."""
    return f"{namespace}:live:payments"


def notices_of(events: Iterable[OutboxEvent]) -> list[Notice]:
    """The notices of outbox events, in their (version) order."""
    return [
        Notice(
            event.payment_id,
            event.version,
            str(event.payload["data"]["payment"]["customerId"]),
            event.state,
        )
        for event in events
    ]


def encode(notices: Iterable[Notice]) -> str:
    return json.dumps([[n.payment_id, n.version, n.customer_id, n.state] for n in notices])


def decode(message: str | bytes) -> list[Notice]:
    """The notices of one published message; a malformed one is no notice at all."""
    try:
        return [_notice(item) for item in json.loads(message)]
    except (ValueError, TypeError):
        return []


def _notice(item: list[Any]) -> Notice:
    # Three items come from a relay older than the states (a rolling deploy): no state.
    payment_id, version, customer_id, *rest = item
    state = rest[0] if rest else None
    if not isinstance(state, dict | None):
        raise TypeError("a notice's state is a JSON object")
    return Notice(str(payment_id), int(version), str(customer_id), state)
