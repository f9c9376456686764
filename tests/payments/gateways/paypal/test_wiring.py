"""Settings and wiring of the PayPal rail: credentials need a webhook id and Redis."""

import pytest
from redis.asyncio import Redis

from app.wiring import build_paypal
from payments.gateways.paypal.gateway import PayPalGateway
from payments.gateways.simulated.paypal import SimulatedPayPal
from payments.shared.settings import SettingsError
from tests.conftest import make_settings
from tests.fakes.paypal_api import credentials


def test_credentials_without_a_webhook_id_are_refused(database_url: str):
    with pytest.raises(SettingsError, match="PAYPAL_WEBHOOK_ID"):
        make_settings(database_url, **{**credentials(), "paypal_webhook_id": None})


async def test_credentials_wire_paypal_and_their_absence_the_simulated_one(database_url: str):
    redis = Redis()
    assert isinstance(build_paypal(make_settings(database_url), redis), SimulatedPayPal)
    paypal = build_paypal(make_settings(database_url, **credentials()), redis)
    assert isinstance(paypal, PayPalGateway)
    await paypal.aclose()
    await redis.aclose()
