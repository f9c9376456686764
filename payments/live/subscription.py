"""One subscriber's bounded, ordered buffer: every version in turn, the latest when it lags."""

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from payments.outbox.versions import PaymentVersion
from payments.shared.auth import Principal

# A payment's creation (version 1) emits no event: its first change is version 2.
FIRST_CHANGE = 2
# Payments whose last version a subscriber remembers: an admin's subscription on a busy
# service sees every payment, and its memory must not grow with them (~1.5 MB at this size).
MAX_REMEMBERED = 10_000


class SubscriberTooSlow(Exception):
    """More payments waited than the buffer holds: the subscription ends."""


@dataclass(eq=False)
class Subscription:
    """The payment states a subscriber is owed, one per version, in the order they came.

    `newest` remembers the version each payment was last queued, pushed or passed over
    (not wanted) at: a state that is not newer is dropped, so versions only go up, each
    at most once. With `max_pending` states queued the subscriber is falling behind: a
    further version of a payment it is owed replaces that payment's queued ones (in the
    first one's place), so it gets the latest state; a further payment cuts it off once
    the queue drains.
    `started_at` bounds what it may have missed of a payment it has had nothing of.
    `newest` keeps the `max_remembered` payments seen last; forgetting the oldest moves
    `started_at` to then, so a forgotten payment's versions from before are never offered
    again (any later one would have been remembered anew).
    """

    principal: Principal
    wants: Callable[[PaymentVersion], bool]
    payment_id: str | None = None
    max_pending: int = 100
    max_remembered: int = MAX_REMEMBERED
    newest: OrderedDict[str, int] = field(default_factory=OrderedDict)
    pending: deque[PaymentVersion] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    overflowed: bool = False
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def is_behind(self, payment_id: str, version: int) -> bool:
        """Whether a change at `version` is news to this subscriber."""
        return version > self.newest.get(payment_id, 0)

    def skipped_before(self, payment_id: str, version: int) -> bool:
        """Whether versions before `version` of the payment may be owed but never offered."""
        known = self.newest.get(payment_id, 0)
        return known < version - 1 and (known > 0 or version > FIRST_CHANGE)

    def catch_up(self, earlier: Sequence[tuple[datetime, PaymentVersion]]) -> None:
        """Offer a payment's earlier states (oldest first, with their commit times) it missed.

        A subscriber that has had a version of the payment is owed every later one; one
        that has had none, those committed since it subscribed.
        """
        following = bool(earlier) and earlier[0][1].id in self.newest
        for committed_at, payment in earlier:
            if following or committed_at >= self.started_at:
                self.offer(payment)

    def offer(self, payment: PaymentVersion) -> None:
        """Queue the payment's state at its version if that is newer than what was queued.

        A state it does not want is not queued but still remembered as seen, so the
        next version is not taken for one after a gap (which costs an outbox query).
        """
        if not self.is_behind(payment.id, payment.version):
            return
        if not self.wants(payment):
            self._remember(payment)
            return
        if len(self.pending) < self.max_pending:
            self.pending.append(payment)
        elif not self._replace_queued(payment):
            self.overflowed = True
            self.wake.set()
            return
        self._remember(payment)
        self.wake.set()

    def _remember(self, payment: PaymentVersion) -> None:
        self.newest[payment.id] = payment.version
        self.newest.move_to_end(payment.id)
        if len(self.newest) > self.max_remembered:
            self.newest.popitem(last=False)
            self.started_at = datetime.now(UTC)

    def _replace_queued(self, payment: PaymentVersion) -> bool:
        queued = [i for i, state in enumerate(self.pending) if state.id == payment.id]
        if not queued:
            return False
        self.pending[queued[0]] = payment
        for position in reversed(queued[1:]):
            del self.pending[position]
        return True

    async def next(self) -> PaymentVersion:
        """The oldest owed state; raises SubscriberTooSlow after an overflow, once drained."""
        while not self.pending:
            if self.overflowed:
                raise SubscriberTooSlow("The subscriber fell too far behind; resubscribe.")
            self.wake.clear()
            await self.wake.wait()
        return self.pending.popleft()
