"""A subscriber's buffer: every version in arrival order, only going up, bounded."""

import pytest

from models.enums import PaymentStatus
from models.payment import Payment
from payments.live.subscription import SubscriberTooSlow, Subscription
from payments.outbox.versions import PaymentVersion
from payments.shared.auth import Principal


def _state(payment_id: str, version: int) -> PaymentVersion:
    return PaymentVersion(
        Payment(id=payment_id, version=version, customer_id="c", status=PaymentStatus.PENDING)
    )


def _subscription(max_pending: int = 10) -> Subscription:
    return Subscription(Principal("c"), lambda _: True, None, max_pending)


async def test_an_older_state_after_a_newer_one_is_never_pushed(database_url):
    """v3 pushed, then v2 offered (a late notice): only v3 ever leaves, then v4."""
    subscription = _subscription()
    subscription.offer(_state("p", 3))
    assert (await subscription.next()).version == 3
    subscription.offer(_state("p", 2))
    subscription.offer(_state("p", 3))
    subscription.offer(_state("p", 4))
    assert (await subscription.next()).version == 4
    assert not subscription.pending


async def test_a_burst_keeps_every_version_in_arrival_order(database_url):
    """Three versions of one payment between another's: each is pushed, in the order offered."""
    subscription = _subscription()
    for payment_id, version in (("a", 2), ("b", 2), ("a", 3), ("a", 4)):
        subscription.offer(_state(payment_id, version))
    pushed = [await subscription.next() for _ in range(4)]
    assert [(p.id, p.version) for p in pushed] == [("a", 2), ("b", 2), ("a", 3), ("a", 4)]
    assert not subscription.pending


async def test_a_subscriber_that_falls_behind_gets_the_latest_state(database_url):
    """With the queue full, a newer version replaces that payment's queued ones in their place."""
    subscription = _subscription(max_pending=3)
    for payment_id, version in (("a", 2), ("b", 2), ("a", 3), ("a", 4), ("b", 3)):
        subscription.offer(_state(payment_id, version))
    pushed = [await subscription.next() for _ in range(3)]
    assert [(p.id, p.version) for p in pushed] == [("a", 4), ("b", 2), ("b", 3)]
    subscription.offer(_state("a", 3))
    assert not subscription.pending and not subscription.overflowed


async def test_a_subscriber_owed_too_many_payments_is_cut_off(database_url):
    """A payment past a full queue: what is queued drains, then SubscriberTooSlow."""
    subscription = _subscription(max_pending=2)
    for payment_id in ("a", "b", "c"):
        subscription.offer(_state(payment_id, 2))
    assert [(await subscription.next()).id for _ in range(2)] == ["a", "b"]
    with pytest.raises(SubscriberTooSlow):
        await subscription.next()


async def test_memory_of_seen_payments_is_bounded_and_forgetting_never_repeats(database_url):
    """Past max_remembered payments the oldest is forgotten; its earlier versions stay unsent."""
    subscription = Subscription(Principal("c"), lambda _: True, None, 10_000, max_remembered=100)
    subscribed_at = subscription.started_at
    for n in range(1_000):
        subscription.offer(_state(f"p{n}", 2))
    assert len(subscription.newest) == 100
    assert "p0" not in subscription.newest and "p999" in subscription.newest
    subscription.pending.clear()
    # Committed after the subscription began, before p0 was forgotten: already pushed then.
    between = subscribed_at + (subscription.started_at - subscribed_at) / 2
    assert subscribed_at < between < subscription.started_at
    subscription.catch_up([(between, _state("p0", 2)), (between, _state("p0", 3))])
    assert not subscription.pending
