"""Periodic jobs: one table of (actor, interval); each run is started by one worker only."""

import time
from datetime import timedelta

import dramatiq
from redis.asyncio import Redis

from tasks.broker import send_off_loop

# Actors by name, so a job's module is imported only by the broker (ACTOR_MODULES).
PERIODIC_JOBS: tuple[tuple[str, timedelta], ...] = (
    ("reconcile_payments", timedelta(minutes=1)),  # tasks.maintenance
    ("expire_authorizations", timedelta(minutes=1)),  # tasks.maintenance
    ("requeue_stranded_stripe_events", timedelta(minutes=2)),  # tasks.stripe_events
    ("recover_missed_stripe_events", timedelta(minutes=1)),  # tasks.stripe_events
    ("purge_idempotency_keys", timedelta(hours=1)),  # tasks.maintenance
    ("prune_outbox_events", timedelta(hours=1)),  # tasks.deliveries
    ("prune_webhook_events", timedelta(days=1)),  # tasks.stripe_events
)


class Scheduler:
    """Sends each job's message once per interval across every worker that runs one.

    A Redis `SET NX PX` lock held for the whole interval elects the worker that
    sends it; without Redis (`payments dev`) the only process sends it.
    """

    def __init__(self, broker: dramatiq.Broker, redis: Redis | None, namespace: str) -> None:
        self.broker = broker
        self.redis = redis
        self.namespace = namespace
        self._tried: dict[str, float] = {}

    async def run_due(self) -> None:
        """Send every job whose interval has passed, if this worker wins its lock."""
        for name, every in PERIODIC_JOBS:
            if self._tried_within(name, every):
                continue
            self._tried[name] = time.monotonic()
            if await self._elected(name, every):
                await send_off_loop(self.broker.get_actor(name), [()])

    def _tried_within(self, name: str, every: timedelta) -> bool:
        last = self._tried.get(name)
        return last is not None and time.monotonic() - last < every.total_seconds()

    async def _elected(self, name: str, every: timedelta) -> bool:
        if self.redis is None:
            return True
        lock = f"{self.namespace}:schedule:{name}"
        return bool(await self.redis.set(lock, "1", nx=True, px=int(every.total_seconds() * 1000)))
