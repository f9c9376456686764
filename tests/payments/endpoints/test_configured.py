"""ORDER_SERVICE_URL and the like define endpoints: made once, updated in place, upgrades kept."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from models.endpoint import EventEndpoint
from models.enums import DeliveryStatus
from models.outbox import OutboxDelivery, OutboxEvent
from payments.endpoints.service import define_configured

SECRET = "whsec_dGVzdA=="
OTHER_SECRET = "whsec_b3RoZXI="


@pytest.fixture
async def configured(database_url: str) -> AsyncIterator[None]:
    """The session database without the endpoint `order` afterwards (no worker delivers to it)."""
    yield
    ids = await EventEndpoint.filter(configured_as="order").values_list("id", flat=True)
    await OutboxDelivery.filter(consumer__in=[*ids, "order"]).delete()
    await EventEndpoint.filter(configured_as="order").delete()


async def _legacy_delivery() -> int:
    """An open delivery made before endpoints existed, naming its consumer `order`."""
    payment_id = f"pay_{uuid.uuid4().hex}"
    event = await OutboxEvent.create(
        payment_id=payment_id,
        version=1,
        type="payment.succeeded",
        payload={},
        relayed_at=datetime.now(UTC),
    )
    delivery = await OutboxDelivery.create(
        event=event,
        consumer="order",
        payment_id=payment_id,
        version=1,
        status=DeliveryStatus.ENQUEUED,
    )
    return delivery.id


@pytest.mark.usefixtures("configured")
async def test_configured_endpoints_are_created_once_and_updated_in_place():
    """Four workers starting at once make one endpoint; a restart with a new URL keeps its id."""
    legacy = await _legacy_delivery()
    starts = [define_configured({"order": "http://orders.internal/e"}, SECRET) for _ in range(4)]
    await asyncio.gather(*starts)
    (endpoint,) = await EventEndpoint.filter(configured_as="order")
    assert (endpoint.url, endpoint.secret, endpoint.description) == (
        "http://orders.internal/e",
        SECRET,
        "order",
    )
    assert endpoint.event_types == ["*"] and endpoint.enabled
    # What was still open for `order` before the upgrade is now the endpoint's to deliver.
    assert (await OutboxDelivery.get(id=legacy)).consumer == endpoint.id
    await define_configured({"order": "http://orders-v2.internal/e"}, OTHER_SECRET)
    (moved,) = await EventEndpoint.filter(configured_as="order")
    assert (moved.id, moved.url, moved.secret) == (
        endpoint.id,
        "http://orders-v2.internal/e",
        OTHER_SECRET,
    )
