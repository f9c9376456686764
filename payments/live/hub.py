"""The fan-in of one API process: one Redis subscription, dispatched to local subscribers."""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import structlog
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from models.outbox import OutboxEvent
from models.payment import Payment
from payments.live.notices import Notice, channel, decode, notices_of
from payments.live.subscription import Subscription
from payments.outbox.versions import PaymentVersion, version_of
from payments.shared.rows import select_one

log = structlog.get_logger(__name__)

RECONNECT_SECONDS = 0.5
# Changes committed this long before a lost Redis subscription are read again from the outbox.
RESYNC_MARGIN = timedelta(seconds=5)


class Hub:
    """Routes notices to the subscriptions that may see them, with the state of each version.

    Subscriptions to one payment are found by its id, the others (paymentsUpdated)
    by their owner, or among the admins'. After the Redis subscription breaks, the
    outbox rows committed meanwhile are dispatched again, so nothing is missed.
    """

    def __init__(self, redis_url: str | None, namespace: str) -> None:
        # Its own client, named so operators (and tests) can find the subscription, and
        # without retries, so that a lost connection is seen here and healed, not hidden.
        self.redis = (
            Redis.from_url(
                redis_url, client_name=client_name(namespace), retry=Retry(NoBackoff(), 0)
            )
            if redis_url
            else None
        )
        self.channel = channel(namespace)
        self.by_payment: dict[str, set[Subscription]] = defaultdict(set)
        self.by_owner: dict[str, set[Subscription]] = defaultdict(set)
        self.admin_wide: set[Subscription] = set()
        self.ready = asyncio.Event()

    def add(self, subscription: Subscription) -> None:
        self._index(subscription).add(subscription)

    def remove(self, subscription: Subscription) -> None:
        self._index(subscription).discard(subscription)

    async def aclose(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

    def _index(self, subscription: Subscription) -> set[Subscription]:
        if subscription.payment_id is not None:
            return self.by_payment[subscription.payment_id]
        if subscription.principal.is_admin:
            return self.admin_wide
        return self.by_owner[subscription.principal.sub]

    async def dispatch(self, notices: Iterable[Notice]) -> None:
        """Offer each version's own state of the payment to every subscriber behind on it.

        A subscriber that skipped earlier versions (published later by another relay, or
        lost) gets them first, read from the outbox: every version, in order.
        """
        for notice in notices:
            waiting = [s for s in self._interested(notice) if s.is_behind(*_key(notice))]
            if not waiting:
                continue
            payment = await _as_of(notice)
            if payment is None:
                continue
            earlier = await _skipped(notice, waiting)
            for subscription in waiting:
                subscription.catch_up(earlier)
                subscription.offer(payment)

    async def dispatch_events(self, events: Sequence[OutboxEvent]) -> None:
        """Dispatch relayed outbox events directly (`payments dev`, whose relay runs here)."""
        await self.dispatch(notices_of(events))

    def _interested(self, notice: Notice) -> Iterable[Subscription]:
        yield from self.by_payment.get(notice.payment_id, ())
        yield from self.by_owner.get(notice.customer_id, ())
        yield from self.admin_wide

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop`; a broken subscription is re-made and healed from the outbox."""
        broken_at: datetime | None = None
        while not stop.is_set() and self.redis is not None:
            try:
                await self._listen(stop, broken_at)
            except Exception as error:
                log.warning("live_subscription_lost", error=repr(error))
            self.ready.clear()
            broken_at = broken_at or datetime.now(UTC)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RECONNECT_SECONDS)

    async def _listen(self, stop: asyncio.Event, broken_at: datetime | None) -> None:
        assert self.redis is not None
        async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(self.channel)
            if broken_at is not None:
                await self.dispatch(await _committed_since(broken_at - RESYNC_MARGIN))
            self.ready.set()
            while not stop.is_set():
                message = await pubsub.get_message(timeout=1.0)
                if message is not None:
                    await self.dispatch(decode(message["data"]))


def client_name(namespace: str) -> str:
    """The Redis client name of every API process's live subscription."""
    return f"payments-live-{namespace}"


def _key(notice: Notice) -> tuple[str, int]:
    return notice.payment_id, notice.version


async def _as_of(notice: Notice) -> PaymentVersion | None:
    # A notice without its state (an event from before states were kept, a relay from
    # before they were published) can only be read from the payment as it is now.
    if notice.state is None:
        payment = await select_one(Payment, id=notice.payment_id)
        return None if payment is None else PaymentVersion(payment)
    return version_of(notice.state)


async def _skipped(
    notice: Notice, waiting: list[Subscription]
) -> list[tuple[datetime, PaymentVersion]]:
    """The states, with commit times, of the notice's earlier versions a subscriber skipped."""
    behind = [s for s in waiting if s.skipped_before(*_key(notice))]
    if not behind:
        return []
    known = [s.newest.get(notice.payment_id, 0) for s in behind]
    events = OutboxEvent.filter(
        payment_id=notice.payment_id, version__gt=min(known), version__lt=notice.version
    )
    if not any(known):  # none follows the payment yet: only what came since they subscribed
        events = events.filter(created_at__gte=min(s.started_at for s in behind))
    rows = await events.order_by("version").only("id", "version", "state", "created_at")
    return [(row.created_at, version_of(row.state)) for row in rows if row.state is not None]


async def _committed_since(since: datetime) -> list[Notice]:
    events = OutboxEvent.filter(created_at__gte=since).order_by("created_at", "version")
    return notices_of(await events.only("id", "payment_id", "version", "payload", "state"))
