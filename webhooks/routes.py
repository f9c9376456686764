"""`POST /webhooks/stripe` and `/webhooks/paypal`: bound, verify, store once, enqueue, answer."""

from collections.abc import Awaitable, Callable

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from payments.gateway_events.inbox import parse_event, store_event
from payments.gateways.paypal.signature import (
    CertificateUnavailable,
    SignatureRefused,
    WebhookVerifier,
)
from payments.platform.availability import as_outage
from payments.runtime import Runtime
from payments.shared.metrics import WEBHOOKS_RECEIVED
from webhooks.body import BodyTooLarge, read_bounded_body
from webhooks.verification import signature_is_valid

log = structlog.get_logger(__name__)

# Rejected requests have no trustworthy type to label them with.
NO_TYPE = "none"

Enqueue = Callable[[int], Awaitable[None]]


def stripe_webhook_route(runtime: Runtime, enqueue: Enqueue) -> Route:
    """The route; `enqueue(row_id)` hands a newly stored event to the worker."""
    secrets = tuple(runtime.settings.webhook_secrets)

    async def receive(request: Request) -> Response:
        try:
            body = await read_bounded_body(request)
        except BodyTooLarge:
            return _rejected("too_large", 413)
        if not signature_is_valid(body, request.headers.get("stripe-signature"), secrets):
            return _rejected("bad_signature", 400)
        return await _store_verified("stripe", body, enqueue)

    return Route("/webhooks/stripe", receive, methods=["POST"])


def paypal_webhook_route(verifier: WebhookVerifier, enqueue: Enqueue) -> Route:
    """The route; the signature is checked before the body is parsed, as for Stripe."""

    async def receive(request: Request) -> Response:
        try:
            body = await read_bounded_body(request)
        except BodyTooLarge:
            return _rejected("too_large", 413)
        try:
            await verifier.verify(request.headers, body)
        except SignatureRefused as refused:
            log.info("paypal_webhook_refused", reason=refused.reason)
            return _rejected("bad_signature", 400)
        except CertificateUnavailable:
            # PayPal delivers again later, when the certificate can be had.
            return _rejected("unavailable", 503)
        return await _store_verified("paypal", body, enqueue)

    return Route("/webhooks/paypal", receive, methods=["POST"])


async def _store_verified(provider: str, body: bytes, enqueue: Enqueue) -> Response:
    event = parse_event(provider, body)
    if event is None:
        return _rejected("invalid_event", 400)
    try:
        row_id = await store_event(provider, body, event)
    except Exception as exc:
        if as_outage(exc) is None:
            raise
        # Not stored: a 503 makes the provider deliver it again, by which time we are back.
        log.warning("webhook_event_store_unavailable", provider=provider, error=repr(exc))
        return _rejected("unavailable", 503)
    if row_id is not None:
        await _enqueue(enqueue, row_id)
    WEBHOOKS_RECEIVED.labels(event.type, "stored" if row_id else "duplicate").inc()
    return JSONResponse({"received": True})


async def _enqueue(enqueue: Enqueue, row_id: int) -> None:
    try:
        await enqueue(row_id)
    except Exception:
        # The event is stored, and the provider would resend it only as a duplicate; the
        # stranded-event sweep enqueues it again, so the provider still gets its 200.
        log.exception("webhook_event_enqueue_failed", row_id=row_id)


def _rejected(outcome: str, status_code: int) -> Response:
    WEBHOOKS_RECEIVED.labels(NO_TYPE, outcome).inc()
    return JSONResponse({"received": False, "error": outcome}, status_code=status_code)
