"""POST /webhooks/stripe over real HTTP: verify first, bound the body, store each event once."""

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping

import httpx
import pytest

from app.factory import create_app
from models.enums import InboxStatus
from models.inbox import WebhookEvent
from payments.shared.signatures import stripe_signature_header
from tests.conftest import make_settings
from tests.support import TEST_WEBHOOK_SECRET, serve
from tests.webhooks.factories import body_of, event, intent, new_id, post_event, signed_headers

OTHER_SECRET = "whsec_b3RoZXItc2VjcmV0LW5vdC1vdXJz"
MIB = 1024 * 1024

Request = tuple[bytes, Mapping[str, str | bytes]]


def _flip_byte_in_id(body: bytes, event_id: str) -> Request:
    # Still valid JSON, naming another event: only the signature can tell.
    headers = signed_headers(body)
    return body.replace(event_id.encode(), event_id[:-1].encode() + b"X"), headers


def _reserialized(body: bytes, event_id: str) -> Request:
    return json.dumps(json.loads(body), indent=2).encode(), signed_headers(body)


def _header(value: str) -> Callable[[bytes, str], Request]:
    # Sent as UTF-8 bytes, so non-ASCII signatures reach the server as they would off the wire.
    return lambda body, event_id: (
        body,
        {"Stripe-Signature": value.format(t=int(time.time())).encode()},
    )


def _signed_at(offset: int) -> Callable[[bytes, str], Request]:
    return lambda body, event_id: (body, signed_headers(body, timestamp=int(time.time()) + offset))


BAD_REQUESTS: dict[str, Callable[[bytes, str], Request]] = {
    "wrong secret": lambda body, event_id: (body, signed_headers(body, OTHER_SECRET)),
    "flipped body byte": _flip_byte_in_id,
    "re-serialized JSON": _reserialized,
    "missing header": lambda body, event_id: (body, {}),
    "empty header": _header(""),
    "no v1 signature": _header("t={t}"),
    "only a v0 signature": _header("t={t},v0=" + "a" * 64),
    "no timestamp": _header("v1=" + "a" * 64),
    "garbage header": _header("not a signature"),
    "non-hex signature": _header("t={t},v1=" + "z" * 64),
    "non-ASCII signature": _header("t={t},v1=" + "\u00e9" * 64),
    # 5 s past the 300 s window: int(time.time()) truncates, and the request takes time,
    # so 1 s past it could land inside the window by the time the route checks it.
    "stale timestamp": _signed_at(-305),
    "future timestamp": _signed_at(305),
}


async def _stored(*event_ids: str) -> int:
    return await WebhookEvent.filter(event_id__in=event_ids).count()


async def _metric(http: httpx.AsyncClient, outcome: str) -> float:
    text = (await http.get("/metrics")).text
    sample = rf'payments_webhooks_received_total{{outcome="{outcome}",type="none"}} (\S+)'
    found = re.search(sample, text)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
async def test_bad_signatures_are_rejected_before_anything_is_stored(http, case):
    """Every malformed, forged or out-of-window signature is a 400, counted, with no row."""
    stripe_event = event("payment_intent.succeeded", intent(new_id("pi")))
    content, headers = BAD_REQUESTS[case](body_of(stripe_event), stripe_event["id"])
    before = await _metric(http, "bad_signature")
    response = await http.post("/webhooks/stripe", content=content, headers=headers)
    assert response.status_code == 400
    assert await _stored(stripe_event["id"], stripe_event["id"][:-1] + "X") == 0
    assert await _metric(http, "bad_signature") == before + 1


async def test_body_that_is_not_utf8_is_rejected(http):
    """A correctly signed body that is not UTF-8 cannot be a Stripe event: 400, no row."""
    stripe_event = event("payment_intent.succeeded", intent(new_id("pi")))
    body = body_of(stripe_event).replace(b'"object"', b'"\xff\xfeobject"', 1)
    response = await http.post("/webhooks/stripe", content=body, headers=signed_headers(body))
    assert response.status_code == 400
    assert await _stored(stripe_event["id"]) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"id": "evt_x"}',
        b'{"id": 7, "type": "charge.refunded"}',
        b'{"id": "evt_x", "type": "charge.refunded", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
    ids=["not-json", "list", "no-type", "numeric-id", "nested-5000-deep"],
)
async def test_signed_but_invalid_event_is_rejected(http, body):
    """A verified body that is not a JSON event with an id and a type is a 400, not stored."""
    before = await WebhookEvent.filter(event_id="evt_x").count()
    response = await http.post("/webhooks/stripe", content=body, headers=signed_headers(body))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_event"
    assert await WebhookEvent.filter(event_id="evt_x").count() == before == 0


async def test_valid_event_is_stored_verbatim(http):
    """A verified event answers 200 {"received": true} and is stored once, byte for byte."""
    stripe_event = event("payment_intent.succeeded", intent(new_id("pi")))
    response = await post_event(http, stripe_event)
    assert (response.status_code, response.json()) == (200, {"received": True})
    row = await WebhookEvent.get(event_id=stripe_event["id"])
    assert (row.type, row.payload) == ("payment_intent.succeeded", body_of(stripe_event).decode())
    assert row.provider_created_at is not None
    assert int(row.provider_created_at.timestamp()) == stripe_event["created"]


async def test_concurrent_duplicate_deliveries_store_one_row(http):
    """Twenty simultaneous deliveries of one event all get 200; exactly one row exists."""
    stripe_event = event("charge.dispute.created", {"id": new_id("dp")})
    responses = await asyncio.gather(*(post_event(http, stripe_event) for _ in range(20)))
    assert {response.status_code for response in responses} == {200}
    assert await _stored(stripe_event["id"]) == 1


async def test_unknown_type_is_accepted_and_stored(http):
    """An event type we do not handle still answers 200 and is kept."""
    stripe_event = event("customer.subscription.created", {"id": new_id("sub")})
    assert (await post_event(http, stripe_event)).status_code == 200
    assert await _stored(stripe_event["id"]) == 1


async def test_oversized_body_is_413_without_storing(http):
    """A body over 1 MiB (declared by Content-Length) is refused with 413."""
    stripe_event = event("payment_intent.succeeded", intent(new_id("pi"), padding="x" * MIB))
    body = body_of(stripe_event)
    response = await http.post("/webhooks/stripe", content=body, headers=signed_headers(body))
    assert response.status_code == 413
    assert await _stored(stripe_event["id"]) == 0


async def test_oversized_chunked_body_is_413_without_storing(http):
    """A chunked body (no Content-Length) is cut off once it passes 1 MiB: 413."""
    stripe_event = event("payment_intent.succeeded", intent(new_id("pi"), padding="x" * MIB))
    body = body_of(stripe_event)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = await http.post("/webhooks/stripe", content=chunks(), headers=signed_headers(body))
    assert response.status_code == 413
    assert await _stored(stripe_event["id"]) == 0


async def test_body_of_exactly_one_mib_is_accepted(http):
    """The bound is inclusive: a signed event of exactly 1 MiB is stored."""
    stripe_event = event("customer.created", {"id": new_id("cus"), "padding": ""})
    filler = MIB - len(body_of(stripe_event))
    stripe_event["data"]["object"]["padding"] = "x" * filler
    assert len(body_of(stripe_event)) == MIB
    assert (await post_event(http, stripe_event)).status_code == 200
    assert await _stored(stripe_event["id"]) == 1


@pytest.fixture(scope="module")
async def rotating_server(database_url):
    """The API configured with two secrets, as during a rotation (old first, new second)."""
    secrets = f"{TEST_WEBHOOK_SECRET},{OTHER_SECRET}"
    app = create_app(
        make_settings(database_url, stripe_webhook_secret=secrets), owns_database=False
    )
    async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        yield client


async def test_rotation_accepts_the_old_and_the_new_secret(rotating_server):
    """With two configured secrets, events signed by either are stored; a third is refused."""
    old, new, foreign = (event("customer.created", {"id": new_id("cus")}) for _ in range(3))
    assert (await post_event(rotating_server, old, TEST_WEBHOOK_SECRET)).status_code == 200
    assert (await post_event(rotating_server, new, OTHER_SECRET)).status_code == 200
    body = body_of(foreign)
    header = stripe_signature_header("whsec_dGhpcmQ=", body, int(time.time()))
    response = await rotating_server.post(
        "/webhooks/stripe", content=body, headers={"Stripe-Signature": header}
    )
    assert response.status_code == 400
    assert await _stored(old["id"], new["id"]) == 2
    assert await _stored(foreign["id"]) == 0
    # RECEIVED, or already IGNORED if the session's worker (consuming the same queues) ran it.
    stored = await WebhookEvent.get(event_id=old["id"])
    assert (stored.type, stored.status in {InboxStatus.RECEIVED, InboxStatus.IGNORED}) == (
        "customer.created",
        True,
    )
