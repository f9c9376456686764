"""The API wired to a fake PayPal on a real port, and a worker's view of its rails."""

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from app.factory import create_app
from app.wiring import build_paypal, simulated_gateway
from models.enums import InboxStatus
from payments.gateway_events.inbox import store_event
from payments.gateway_events.service import process_stored_event
from payments.gateways.base import Gateway
from payments.gateways.paypal.updates import read_paypal_envelope
from payments.service_config import ServiceConfig
from payments.shared.settings import Settings
from tests.conftest import REDIS_URL, make_settings
from tests.fakes.paypal_api import FakePayPal, credentials
from tests.support import serve


@dataclass
class PayPalWorld:
    fake: FakePayPal
    http: httpx.AsyncClient
    settings: Settings
    # What a worker process wires: its own PayPal client, sharing the token through Redis.
    worker: ServiceConfig

    async def deliver(self, event_type: str, resource: dict[str, Any]) -> InboxStatus:
        """Store a PayPal event as the webhook route does and process it as the worker does."""
        body = json.dumps(paypal_event(event_type, resource)).encode()
        envelope = read_paypal_envelope(body)
        assert envelope is not None
        row_id = await store_event("paypal", body, envelope)
        assert row_id is not None
        return await process_stored_event(row_id, lambda: self.worker)


def paypal_event(event_type: str, resource: dict[str, Any]) -> dict[str, Any]:
    """A webhook envelope as PayPal sends it (notifications_webhooks_v1's `event`)."""
    kind = "checkout-order" if event_type.startswith("CHECKOUT.") else "capture"
    return {
        "id": f"WH-{uuid.uuid4().hex[:8].upper()}-{uuid.uuid4().hex[:8].upper()}",
        "event_version": "1.0",
        "create_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "resource_type": kind,
        "resource_version": "2.0",
        "event_type": event_type,
        "summary": f"{event_type} happened",
        "resource": resource,
        "links": [
            {
                "href": "https://api.paypal.com/v1/notifications/webhooks-events/x",
                "rel": "self",
                "method": "GET",
            }
        ],
    }


def paypal_settings(database_url: str, fake: FakePayPal, api_base: str) -> Settings:
    # The session's queue namespace (its worker listens there); the fake's own client id.
    return make_settings(database_url, paypal_api_base=api_base, **credentials(fake.client_id))


async def worker_paypal(settings: Settings) -> tuple[Gateway, Redis]:
    redis = Redis.from_url(REDIS_URL, protocol=3)
    paypal = build_paypal(settings, redis)
    assert paypal is not None
    return paypal, redis


@pytest.fixture
async def paypal(database_url: str) -> AsyncIterator[PayPalWorld]:
    fake = FakePayPal(client_id=f"paypal-app-{uuid.uuid4().hex[:12]}")
    async with serve(fake.app()) as api_base:
        settings = paypal_settings(database_url, fake, api_base)
        simulated = simulated_gateway(settings)
        app = create_app(settings, gateway=simulated, owns_database=False)
        worker_rail, redis = await worker_paypal(settings)
        async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            yield PayPalWorld(fake, http, settings, ServiceConfig(simulated, paypal=worker_rail))
        await worker_rail.aclose()
        await redis.aclose()
