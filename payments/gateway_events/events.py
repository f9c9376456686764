"""A stored Stripe event as processing reads it, and the shape of a handler of one type."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models.payment import Payment


@dataclass(frozen=True)
class GatewayEvent:
    """What processing reads of a stored Stripe event: its id, type, object and time."""

    id: str
    type: str
    object: dict[str, Any]
    created: datetime

    @classmethod
    def parse(cls, payload: str) -> "GatewayEvent":
        event = json.loads(payload)
        created, data = event.get("created"), event.get("data")
        # The inbox stored only a verified id and type; the rest may be any JSON at all.
        obj = data.get("object") if isinstance(data, dict) else None
        return cls(
            id=event["id"],
            type=event["type"],
            object=obj if isinstance(obj, dict) else {},
            created=datetime.fromtimestamp(created, UTC)
            if isinstance(created, int)
            else datetime.now(UTC),
        )

    @property
    def metadata(self) -> dict[str, Any]:
        # Nullable, and absent from some objects: either way there is nothing to match on.
        metadata = self.object.get("metadata")
        return metadata if isinstance(metadata, dict) else {}


Handler = Callable[[GatewayEvent, Payment, BaseDBAsyncClient], Awaitable[None]]
