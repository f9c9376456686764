"""Signed events that cannot be stored or parsed are 400 invalid_event, never a 5xx."""

import json
from typing import Any

import pytest

from models.inbox import WebhookEvent
from tests.webhooks.factories import event, intent, new_id, signed_headers


def _ascii_body(stripe_event: dict[str, Any]) -> bytes:
    # json.dumps escapes NUL and lone surrogates, as any JSON encoder may send them.
    return json.dumps(stripe_event).encode()


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"id": "evt_\u0000nul"}, id="nul-in-id"),
        pytest.param({"id": "evt_\ud800"}, id="surrogate-in-id"),
        pytest.param({"id": "evt_" + "x" * 300}, id="id-too-long"),
        pytest.param({"type": "payment_intent.\u0000"}, id="nul-in-type"),
        pytest.param({"type": "t" * 101}, id="type-too-long"),
        pytest.param({"created": 10**20}, id="created-out-of-range"),
        pytest.param({"created": -(10**20)}, id="created-negative-out-of-range"),
    ],
)
async def test_unstorable_signed_event_is_invalid_event(http, changes):
    """A correctly signed event whose envelope cannot be stored is 400 and leaves no row."""
    stripe_event = {**event("payment_intent.succeeded", intent(new_id("pi"))), **changes}
    body = _ascii_body(stripe_event)
    before = await WebhookEvent.all().count()
    response = await http.post("/webhooks/stripe", content=body, headers=signed_headers(body))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_event")
    assert await WebhookEvent.all().count() == before


async def test_nul_inside_the_object_is_stored_verbatim(http):
    """Escaped NUL deep in data.object is valid JSON text: stored as sent, answered 200."""
    stripe_event = event("payment_intent.succeeded", intent(new_id("pi"), description="a\u0000"))
    body = _ascii_body(stripe_event)
    response = await http.post("/webhooks/stripe", content=body, headers=signed_headers(body))
    assert response.status_code == 200
    row = await WebhookEvent.get(event_id=stripe_event["id"])
    assert row.payload == body.decode()
