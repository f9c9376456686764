"""The hub pushes each notice's own state; a notice without one is read from the payment row."""

from tortoise import connections

from models.enums import PaymentStatus
from payments.lifecycle.transitions import outbox_event, write_outbox_event
from payments.live.hub import Hub
from payments.live.notices import Notice, decode, encode, notices_of
from payments.live.subscription import Subscription
from payments.shared.auth import Principal
from tests.support import create_payment, new_subject


async def test_each_version_is_pushed_as_it_was_committed(database_url):
    """Notices of v2-v4 dispatched once the row is at v4: each arrives with its own amount."""
    owner = new_subject()
    payment = await create_payment(customer_id=owner, version=2)
    events = [outbox_event(payment)]
    for version, refunded in ((3, 100), (4, 300)):
        payment.version, payment.amount_refunded = version, refunded
        payment.status = PaymentStatus.PARTIALLY_REFUNDED
        await payment.save()
        events.append(outbox_event(payment))
    hub = Hub(None, "test")
    subscription = Subscription(Principal(owner), lambda _: True)
    hub.add(subscription)
    await hub.dispatch(decode(encode(notices_of(events))))
    queued = list(subscription.pending)
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
    (pushed,) = subscription.pending
    assert notice == Notice(payment.id, 2, owner)
    assert (pushed.version, pushed.amount_refunded) == (3, 100)


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
    assert [(p.version, p.amount_refunded) for p in following.pending] == [
        (2, 0),
        (3, 300),
        (4, 400),
    ]
    assert [(p.version, p.amount_refunded) for p in fresh.pending] == [(3, 300), (4, 400)]
