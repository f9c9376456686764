"""The hub pushes each notice's own state; a notice without one is read from the payment row."""

from typing import Any

from tortoise import connections

from models.enums import EventSource, PaymentStatus, RefundStatus
from models.outbox import OutboxEvent
from models.payment import Payment, Refund
from payments.lifecycle.transitions import Change, move_if_unchanged
from payments.live.hub import Hub
from payments.live.notices import Notice, decode, encode, notices_of
from payments.live.subscription import Subscription
from payments.outbox.events import outbox_event, write_outbox_event
from payments.outbox.versions import version_of
from payments.shared.auth import Principal
from tests.support import create_payment, new_subject


async def test_each_version_is_pushed_as_it_was_committed(database_url):
    """Notices of v2-v4 dispatched once the row is at v4: each arrives with its own amount."""
    owner = new_subject()
    payment = await create_payment(customer_id=owner, version=2)
    events = [outbox_event(payment, [])]
    for version, refunded in ((3, 100), (4, 300)):
        payment.version, payment.amount_refunded = version, refunded
        payment.status = PaymentStatus.PARTIALLY_REFUNDED
        await payment.save()
        events.append(outbox_event(payment, []))
    hub = Hub(None, "test")
    subscription = Subscription(Principal(owner), lambda _: True)
    hub.add(subscription)
    await hub.dispatch(decode(encode(notices_of(events))))
    queued = [version.payment for version in subscription.pending]
    assert [(p.version, p.status, p.amount_refunded) for p in queued] == [
        (2, PaymentStatus.SUCCEEDED, 0),
        (3, PaymentStatus.PARTIALLY_REFUNDED, 100),
        (4, PaymentStatus.PARTIALLY_REFUNDED, 300),
    ]
    assert queued[0].created_at == payment.created_at


async def test_a_notice_without_its_state_is_read_from_the_row(database_url):
    """A three-item notice (a relay from before states were sent) pushes the row as it is."""
    owner = new_subject()
    payment = await create_payment(customer_id=owner, version=3, amount_refunded=100)
    hub = Hub(None, "test")
    subscription = Subscription(Principal(owner), lambda _: True)
    hub.add(subscription)
    (notice,) = decode(f'[["{payment.id}", 2, "{owner}"]]')
    await hub.dispatch([notice])
    ((pushed, refunds),) = [(v.payment, v.refunds) for v in subscription.pending]
    assert notice == Notice(payment.id, 2, owner)
    assert (pushed.version, pushed.amount_refunded, refunds) == (3, 100, None)


async def test_versions_published_out_of_order_are_pushed_in_order(database_url):
    """v4's notice before v2's and v3's (another relay's): v2-v4 pushed in order, once each."""
    owner = new_subject()
    hub = Hub(None, "test")
    following = Subscription(Principal(owner), lambda _: True)
    hub.add(following)
    payment = await create_payment(customer_id=owner, version=2)
    events = [await write_outbox_event(payment, connections.get("default"))]
    await hub.dispatch(notices_of(events))
    fresh = Subscription(Principal(owner), lambda _: True)
    hub.add(fresh)  # subscribed after v2 was committed: owed v3 and v4 only
    for version in (3, 4):
        payment.version, payment.amount_refunded = version, version * 100
        await payment.save()
        events.append(await write_outbox_event(payment, connections.get("default")))
    await hub.dispatch(notices_of(events[::-1]))
    assert [(p.version, p.payment.amount_refunded) for p in following.pending] == [
        (2, 0),
        (3, 300),
        (4, 400),
    ]
    assert [(p.version, p.payment.amount_refunded) for p in fresh.pending] == [(3, 300), (4, 400)]


async def test_each_version_keeps_the_refunds_it_had(database_url):
    """Two refunds reserved and settled between versions: each version lists them as then."""
    owner = new_subject()
    payment = await create_payment(customer_id=owner, version=2)
    connection = connections.get("default")
    events = [await write_outbox_event(payment, connection)]
    settled = []
    for amount in (100, 200):
        refund = await Refund.create(payment=payment, amount=amount, status=RefundStatus.PENDING)
        refund.status = RefundStatus.SUCCEEDED
        await refund.save()
        settled.append(refund)
        payment.version += 1
        payment.amount_refunded += amount
        await payment.save()
        events.append(await write_outbox_event(payment, connection))
    late = await Refund.create(payment=payment, amount=300, status=RefundStatus.PENDING)
    # Reserved as a real refund would be: the reconciler, sweeping every pending refund in
    # the shared database, releases what the refund holds.
    payment.amount_refund_pending = late.amount
    await payment.save()
    hub = Hub(None, "test")
    subscription = Subscription(Principal(owner), lambda _: True)
    hub.add(subscription)
    await hub.dispatch(decode(encode(notices_of(events))))  # all pushed after the last refund
    pushed = [
        (v.version, [(r.id, r.amount, r.status) for r in v.refunds or ()])
        for v in subscription.pending
    ]
    done = [(r.id, r.amount, RefundStatus.SUCCEEDED) for r in settled]
    assert pushed == [(2, []), (3, done[:1]), (4, done)]
    assert late.id not in str([event.state for event in events])


async def test_the_one_statement_move_keeps_the_refunds_it_sees(database_url):
    """A move written by one statement keeps the refunds of that moment in its event's state."""
    payment = await create_payment(status=PaymentStatus.PENDING, version=1)
    refund = await Refund.create(payment=payment, amount=100, status=RefundStatus.PENDING)
    change = Change(PaymentStatus.SUCCEEDED, EventSource.API, {"amount_captured": 1000})
    moved = await move_if_unchanged(payment, change, connections.get("default"))
    assert moved is not None
    event = await OutboxEvent.get(payment_id=payment.id, version=2)
    as_of = version_of(event.state)
    assert [(r.id, r.amount, r.status, r.created_at) for r in as_of.refunds or ()] == [
        (refund.id, 100, RefundStatus.PENDING, refund.created_at)
    ]
    assert (as_of.payment.status, as_of.version) == (PaymentStatus.SUCCEEDED, 2)
    # Leave the refund reserved, as a real one is, for the reconciler's sweeps in this database.
    await Payment.filter(id=payment.id).update(amount_refund_pending=refund.amount)


async def test_a_state_leaves_the_client_secret_out(database_url):
    """The owner's client secret is in no event state (kept for days, sent to every API)."""
    payment = await create_payment(
        status=PaymentStatus.REQUIRES_ACTION, client_secret="pi_x_secret_y"
    )
    event = await write_outbox_event(payment, connections.get("default"))
    stored = await OutboxEvent.get(id=event.id)
    assert "client_secret" not in stored.state and "pi_x_secret_y" not in str(stored.state)
    assert version_of(stored.state).payment.client_secret is None


async def test_a_filtered_out_payment_costs_no_outbox_read(database_url, monkeypatch):
    """Versions 2-30 of a payment the filter rejects: nothing queued, and not one outbox query."""
    owner = new_subject()
    payment = await create_payment(customer_id=owner, version=2)
    events = []
    for version in range(2, 31):
        payment.version = version
        events.append(outbox_event(payment, []))
    reads: list[dict[str, object]] = []
    read = OutboxEvent.filter

    def counted(*args: Any, **conditions: Any) -> Any:
        reads.append(conditions)
        return read(*args, **conditions)

    monkeypatch.setattr(OutboxEvent, "filter", counted)
    hub = Hub(None, "test")
    subscription = Subscription(Principal(owner), lambda _: False)
    hub.add(subscription)
    for event in events:
        await hub.dispatch(notices_of([event]))
    assert not subscription.pending and reads == []
