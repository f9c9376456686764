"""Settings and wiring of the PayPal rail: credentials need a webhook id and Redis."""

import uuid

import httpx
import pytest
from redis.asyncio import Redis

from app.factory import create_app
from app.wiring import build_paypal
from payments.gateways.paypal.gateway import PayPalGateway
from payments.gateways.simulated.paypal import SimulatedPayPal
from payments.shared.settings import SettingsError
from tests.conftest import make_settings
from tests.fakes.paypal_api import credentials
from tests.graph.lifecycle import CREATE_INTENT
from tests.support import graphql, new_subject, serve, token


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


async def test_production_without_credentials_offers_no_simulated_paypal(database_url: str):
    """In production a click on a simulated page must never make a payment SUCCEEDED.

    Without credentials there: PAYPAL is PAYMENT_METHOD_TYPE_UNSUPPORTED, and neither the
    simulated approval page nor /webhooks/paypal is served.
    """
    secret = "production-secret-" + "p" * 32
    settings = make_settings(database_url, environment="production", jwt_secret=secret)
    assert build_paypal(settings, None) is None
    app = create_app(settings, owns_database=False)
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as http:
        assert (await http.get("/simulated/paypal/ORDER1")).status_code == 404
        assert (await http.post("/webhooks/paypal", content=b"{}")).status_code == 404
        body = await graphql(
            http,
            CREATE_INTENT,
            {
                "input": {
                    "orderId": f"order-{uuid.uuid4().hex[:8]}",
                    "amount": 5000,
                    "currency": "usd",
                    "paymentMethodType": "PAYPAL",
                },
                "key": uuid.uuid4().hex,
            },
            bearer=token(new_subject(), secret=secret),
        )
    errors = body["data"]["createPaymentIntent"]["errors"]
    assert [error["code"] for error in errors] == ["PAYMENT_METHOD_TYPE_UNSUPPORTED"]
