"""One subscriber's bounded, ordered buffer: every version in turn, the latest when it lags."""

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from models.payment import Payment
from payments.shared.auth import Principal


class SubscriberTooSlow(Exception):
    """More payments waited than the buffer holds: the subscription ends."""


@dataclass(eq=False)
class Subscription:
    """The payment states a subscriber is owed, one per version, in the order they came.

    `newest` remembers the version each payment was last queued or pushed at: a state
    that is not newer is dropped, so versions only go up, each at most once. With
    `max_pending` states queued the subscriber is falling behind: a further version of
    a payment it is owed replaces that payment's queued ones (in the first one's place),
    so it gets the latest state; a further payment cuts it off once the queue drains.
    """

    principal: Principal
    wants: Callable[[Payment], bool]
    payment_id: str | None = None
    max_pending: int = 100
    newest: dict[str, int] = field(default_factory=dict)
    pending: deque[Payment] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False

    def is_behind(self, payment_id: str, version: int) -> bool:
        """Whether a change at `version` is news to this subscriber."""
        return version > self.newest.get(payment_id, 0)

    def offer(self, payment: Payment) -> None:
        """Queue the payment's state at its version if that is newer than what was queued."""
        if not self.is_behind(payment.id, payment.version) or not self.wants(payment):
            return
        if len(self.pending) < self.max_pending:
            self.pending.append(payment)
        elif not self._replace_queued(payment):
            self.overflowed = True
            self.wake.set()
            return
        self.newest[payment.id] = payment.version
        self.wake.set()

    def _replace_queued(self, payment: Payment) -> bool:
        queued = [i for i, state in enumerate(self.pending) if state.id == payment.id]
        if not queued:
            return False
        self.pending[queued[0]] = payment
        for position in reversed(queued[1:]):
            del self.pending[position]
        return True

    async def next(self) -> Payment:
        """The oldest owed state; raises SubscriberTooSlow after an overflow, once drained."""
        while not self.pending:
            if self.overflowed:
                raise SubscriberTooSlow("The subscriber fell too far behind; resubscribe.")
            self.wake.clear()
            await self.wake.wait()
        return self.pending.popleft()
