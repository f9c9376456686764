"""The fake Stripe on a real port and the Stripe adapter pointed at it, through the real SDK."""

from collections.abc import AsyncIterator

import pytest

from payments.gateways.stripe.gateway import StripeGateway
from tests.fakes.stripe_api import FakeStripe
from tests.support import serve


@pytest.fixture
async def fake() -> AsyncIterator[FakeStripe]:
    fake = FakeStripe()
    async with serve(fake.app()) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
async def gateway(fake: FakeStripe) -> AsyncIterator[StripeGateway]:
    gateway = StripeGateway("sk_test_fake", fake.url, timeout_seconds=2)  # type: ignore[attr-defined]
    yield gateway
    await gateway.aclose()
