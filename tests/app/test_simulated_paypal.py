"""The simulated PayPal end to end: intent, the approval page, signed webhooks, the reconciler."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from app.factory import create_app
from models.enums import CaptureMethod, PaymentStatus
from models.inbox import WebhookEvent
from models.payment import Payment
from payments.gateways.base import ConfirmRequest
from payments.gateways.simulated.certificates import Authority
from payments.gateways.simulated.paypal import DEVELOPMENT_CERT_URL, SimulatedPayPal
from payments.reconciliation.service import ReconcilePolicy, reconcile
from payments.runtime import Runtime
from tests.conftest import make_settings
from tests.graph.lifecycle import call
from tests.support import graphql, new_subject, serve, token

RETURN_URL, CANCEL_URL = "https://shop.example/paypal/return", "https://shop.example/paypal/cancel"
NOW = ReconcilePolicy(stale_after=timedelta(0), abandon_after=timedelta(0))
NEXT_ACTION = "query($id: ID!) { payment(id: $id) { status nextAction { type redirectUrl } } }"


@dataclass
class Service:
    http: httpx.AsyncClient
    runtime: Runtime

    @property
    def paypal(self) -> SimulatedPayPal:
        assert isinstance(self.runtime.paypal, SimulatedPayPal)
        return self.runtime.paypal


@pytest.fixture(scope="module")
async def service(database_url: str) -> AsyncIterator[Service]:
    """The API with no PayPal credentials (so the simulated PayPal), webhooks delayed 0.2 s."""
    app = create_app(make_settings(database_url), owns_database=False)
    runtime: Runtime = app.state.runtime
    async with serve(app) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        assert isinstance(runtime.paypal, SimulatedPayPal)
        runtime.paypal.base_url = base_url
        yield Service(http, runtime)


@dataclass(frozen=True)
class Intent:
    payment_id: str
    order_id: str
    approval_url: str
    sub: str


async def _paypal_intent(service: Service, **fields: object) -> Intent:
    sub = new_subject()
    payload = await call(
        service.http,
        sub,
        "createPaymentIntent",
        orderId=f"order-{uuid.uuid4().hex[:8]}",
        amount=2500,
        currency="eur",
        paymentMethodType="PAYPAL",
        returnUrl=RETURN_URL,
        cancelUrl=CANCEL_URL,
        **fields,
    )
    assert not payload["errors"], payload
    payment_id = payload["payment"]["id"]
    body = await graphql(service.http, NEXT_ACTION, {"id": payment_id}, bearer=token(sub))
    action = body["data"]["payment"]["nextAction"]
    assert body["data"]["payment"]["status"] == "REQUIRES_ACTION"
    assert action["type"] == "REDIRECT_TO_URL"
    url = action["redirectUrl"]
    assert url.startswith(str(service.http.base_url).rstrip("/") + "/simulated/paypal/")
    return Intent(payment_id, url.rsplit("/", 1)[1], url, sub)


async def _decide(service: Service, intent: Intent, decision: str) -> httpx.Response:
    return await service.http.post(intent.approval_url, data={"decision": decision})


async def _webhook(order_id: str, event_type: str) -> WebhookEvent:
    """The stored PayPal event of `event_type` about the order, waiting for it to arrive."""
    for _ in range(100):
        for row in await WebhookEvent.filter(provider="paypal", type=event_type):
            resource = json.loads(row.payload)["resource"]
            related = resource.get("supplementary_data", {}).get("related_ids", {})
            if order_id in (resource["id"], related.get("order_id")):
                return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {event_type} for {order_id} within 5 s")


def _confirmation(intent: Intent, key: str = "") -> ConfirmRequest:
    return ConfirmRequest(
        payment_id=intent.payment_id,
        provider_payment_id=intent.order_id,
        payment_method_id=None,
        return_url=None,
        amount=2500,
        currency="EUR",
        capture_method=CaptureMethod.AUTOMATIC,
        idempotency_key=key or f"confirm-{intent.payment_id}-1",
    )


async def test_the_approval_page_shows_the_order_and_the_four_choices(service: Service) -> None:
    """GET the redirect URL: the order's amount and approve/pending/declined/cancel buttons."""
    intent = await _paypal_intent(service)
    page = await service.http.get(intent.approval_url)
    assert page.status_code == 200
    assert "25.00 EUR" in page.text and intent.payment_id in page.text
    for decision in ("approve", "approve_pending", "approve_declined", "cancel"):
        assert f'value="{decision}"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_approving_sends_a_signed_webhook_that_the_service_verifies_and_stores(
    service: Service,
) -> None:
    """approve: back to the returnUrl; PayPal's CHECKOUT.ORDER.APPROVED is verified, stored.

    It reaches /webhooks/paypal signed with the development certificate, naming our payment.
    """
    intent = await _paypal_intent(service)
    response = await _decide(service, intent, "approve")
    assert (response.status_code, response.headers["location"]) == (303, RETURN_URL)
    row = await _webhook(intent.order_id, "CHECKOUT.ORDER.APPROVED")
    unit = json.loads(row.payload)["resource"]["purchase_units"][0]
    assert unit["custom_id"] == intent.payment_id
    assert unit["amount"] == {"currency_code": "EUR", "value": "25.00"}
    result = await service.paypal.confirm(_confirmation(intent))
    assert (result.status, result.amount_captured) == (PaymentStatus.SUCCEEDED, 2500)
    # The same PayPal-Request-Id again (the webhook's capture racing the BFF's): no new capture.
    assert await service.paypal.confirm(_confirmation(intent)) == result


async def test_a_second_click_changes_nothing(service: Service) -> None:
    """The first decision stands: a later cancel neither redirects to cancelUrl nor undoes it."""
    intent = await _paypal_intent(service)
    await _decide(service, intent, "approve")
    second = await _decide(service, intent, "cancel")
    assert second.headers["location"] == RETURN_URL
    assert service.paypal.order(intent.order_id).decision.value == "approve"


async def test_cancel_goes_back_without_a_webhook_and_cannot_be_confirmed(service: Service) -> None:
    """cancel: back to the cancelUrl; PayPal sends nothing, and a capture is refused."""
    intent = await _paypal_intent(service)
    response = await _decide(service, intent, "cancel")
    assert (response.status_code, response.headers["location"]) == (303, CANCEL_URL)
    await asyncio.sleep(0.3)
    assert not await WebhookEvent.filter(provider="paypal", payload__contains=intent.order_id)
    with pytest.raises(Exception, match="not approved"):
        await service.paypal.confirm(_confirmation(intent))


async def test_declined_instrument_fails_with_paypals_issue(service: Service) -> None:
    """approve_declined: approved (webhook sent), then the capture fails instrument_declined."""
    intent = await _paypal_intent(service)
    await _decide(service, intent, "approve_declined")
    await _webhook(intent.order_id, "CHECKOUT.ORDER.APPROVED")
    result = await service.paypal.confirm(_confirmation(intent))
    assert (result.status, result.failure_code) == (PaymentStatus.FAILED, "instrument_declined")


async def test_bad_form_or_unknown_order_is_refused(service: Service) -> None:
    """An unknown decision is 400 and decides nothing; an unknown order is 404."""
    intent = await _paypal_intent(service)
    assert (await _decide(service, intent, "steal")).status_code == 400
    assert service.paypal.order(intent.order_id).decision is None
    unknown = intent.approval_url.rsplit("/", 1)[0] + "/NOSUCHORDER000000"
    assert (await service.http.get(unknown)).status_code == 404


async def test_a_webhook_naming_the_development_certificate_but_signed_elsewhere_is_400(
    service: Service,
) -> None:
    """The development certificate is trusted, its key is not anyone's: a forgery is 400."""
    forger = Authority.create("Forger").issue("forged")
    body = json.dumps({"id": "WH-FORGED-1", "event_type": "CHECKOUT.ORDER.APPROVED"}).encode()
    headers = forger.sign_paypal_webhook(body, DEVELOPMENT_CERT_URL, service.paypal.webhook_id)
    response = await service.http.post("/webhooks/paypal", content=body, headers=headers)
    assert response.status_code == 400
    assert not await WebhookEvent.filter(provider="paypal", event_id="WH-FORGED-1").exists()


async def test_reconciler_settles_a_paypal_payment_from_paypals_state(service: Service) -> None:
    """A capture PayPal made that we never recorded: the reconciler settles it from PayPal.

    As when the webhook's processing crashed: the reconciler asks the PayPal rail for the
    order, and the payment becomes SUCCEEDED with what was captured.
    """
    intent = await _paypal_intent(service)
    await _decide(service, intent, "approve")
    await service.paypal.confirm(_confirmation(intent))
    assert (await Payment.get(id=intent.payment_id)).status is PaymentStatus.REQUIRES_ACTION
    await reconcile(service.runtime.services, NOW)
    settled = await Payment.get(id=intent.payment_id)
    assert (settled.status, settled.amount_captured) == (PaymentStatus.SUCCEEDED, 2500)


async def test_a_pending_capture_completes_by_webhook_and_the_reconciler_follows(
    service: Service,
) -> None:
    """approve_pending: PROCESSING, then PAYMENT.CAPTURE.COMPLETED after the simulated delay.

    The reconciler moves the payment through PROCESSING to SUCCEEDED from PayPal's state.
    """
    intent = await _paypal_intent(service)
    await _decide(service, intent, "approve_pending")
    result = await service.paypal.confirm(_confirmation(intent))
    assert result.status is PaymentStatus.PROCESSING
    await reconcile(service.runtime.services, NOW)
    assert (await Payment.get(id=intent.payment_id)).status is PaymentStatus.PROCESSING
    await _webhook(intent.order_id, "PAYMENT.CAPTURE.COMPLETED")
    await reconcile(service.runtime.services, NOW)
    assert (await Payment.get(id=intent.payment_id)).status is PaymentStatus.SUCCEEDED
