"""The fake Stripe on a real port, for tests that run `payments serve` against it."""

from collections.abc import AsyncIterator

import pytest

from tests.fakes.stripe_api import FakeStripe
from tests.support import serve


@pytest.fixture
async def fake_stripe() -> AsyncIterator[tuple[FakeStripe, str]]:
    fake = FakeStripe()
    async with serve(fake.app()) as url:
        yield fake, url
