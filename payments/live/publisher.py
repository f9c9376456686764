"""The relay's side: publish committed changes, after their commit, for every API process."""

from collections.abc import Awaitable, Callable, Sequence

from redis.asyncio import Redis

from models.outbox import OutboxEvent
from payments.live.notices import channel, encode, notices_of

Publish = Callable[[Sequence[OutboxEvent]], Awaitable[None]]


def redis_publisher(redis: Redis, namespace: str) -> Publish:
    """One PUBLISH per relayed batch; an error keeps the batch unrelayed, so it is sent again."""
    target = channel(namespace)

    async def publish(events: Sequence[OutboxEvent]) -> None:
        if events:
            await redis.publish(target, encode(notices_of(events)))

    return publish
