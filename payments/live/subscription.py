"""One subscriber's bounded, ordered buffer: latest state per payment, never older after newer."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from models.payment import Payment
from payments.shared.auth import Principal


class SubscriberTooSlow(Exception):
    """More distinct payments waited than the buffer holds: the subscription ends."""


@dataclass(eq=False)
class Subscription:
    """Payments a subscriber is owed, keyed by payment, so a burst collapses to latest state.

    `last_pushed` remembers the version each payment was pushed at: a notice or a row
    that is not newer is dropped, so versions only go up, each at most once.
    """

    principal: Principal
    wants: Callable[[Payment], bool]
    payment_id: str | None = None
    max_pending: int = 100
    last_pushed: dict[str, int] = field(default_factory=dict)
    pending: dict[str, Payment] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False

    def is_behind(self, payment_id: str, version: int) -> bool:
        """Whether a change at `version` is news to this subscriber."""
        queued = self.pending.get(payment_id)
        known = queued.version if queued else self.last_pushed.get(payment_id, 0)
        return version > known

    def offer(self, payment: Payment) -> None:
        """Queue the payment's current state if it is newer than what was pushed or queued."""
        if not self.is_behind(payment.id, payment.version) or not self.wants(payment):
            return
        if payment.id not in self.pending and len(self.pending) >= self.max_pending:
            self.overflowed = True
        else:
            self.pending[payment.id] = payment  # replacing keeps its place in line
        self.wake.set()

    async def next(self) -> Payment:
        """The oldest owed payment's latest state; raises SubscriberTooSlow after an overflow."""
        while not self.pending:
            if self.overflowed:
                raise SubscriberTooSlow("The subscriber fell too far behind; resubscribe.")
            self.wake.clear()
            await self.wake.wait()
        payment_id = next(iter(self.pending))
        payment = self.pending.pop(payment_id)
        self.last_pushed[payment_id] = payment.version
        return payment
