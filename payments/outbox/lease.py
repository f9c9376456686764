"""A delivery batch's claim on its rows: a short lease, renewed for as long as the batch runs."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from models.outbox import OutboxDelivery

log = structlog.get_logger(__name__)

# Short, so rows of a batch whose worker was killed or cut off from the database are
# claimable again seconds later; renewed well before it runs out while the batch lives.
BATCH_LEASE = timedelta(seconds=6)


def batch_lease(longest_batch: timedelta) -> timedelta:
    """A batch's lease: BATCH_LEASE, or less when no batch may run that long."""
    return min(BATCH_LEASE, longest_batch)


@dataclass
class BatchLease:
    """The fencing token of a batch's claimed rows (their `next_attempt_at`), kept fresh.

    Holds and the batch's record change rows only while they carry the current token;
    `lock` keeps a renewal from moving the token under them. A row that has been held
    carries another token, so it is not renewed.
    """

    delivery_ids: Sequence[int]
    until: datetime
    length: timedelta
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @contextlib.asynccontextmanager
    async def renewed(self) -> AsyncIterator["BatchLease"]:
        """Renew the lease every third of its length until the block ends."""
        renewing = asyncio.create_task(self._renew())
        try:
            yield self
        finally:
            # Stopped, not cancelled: a renewal half done would leave `until` stale.
            self._stop.set()
            await renewing

    async def _renew(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.length.total_seconds() / 3)
                return
            try:
                async with self.lock:
                    until = datetime.now(UTC) + self.length
                    held = OutboxDelivery.filter(
                        id__in=self.delivery_ids, next_attempt_at=self.until
                    )
                    await held.update(next_attempt_at=until)
                    self.until = until
            except Exception as exc:
                # The lease runs out; another worker may take the rows over and record them.
                log.warning("delivery_lease_not_renewed", error=repr(exc))
                return
