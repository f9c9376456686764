"""Stripe's errors as our results and domain errors: declines, refusals, outages."""

import stripe
import structlog

from models.enums import PaymentStatus, RefundStatus
from payments.gateways.base import ChargeResult, RefundResult
from payments.gateways.stripe.reading import (
    brand_and_last4,
    expandable_id,
    expanded,
    failure_code_of,
    text,
)
from payments.shared.errors import GatewayUnavailable, InvalidAmount, PaymentNotCapturable

log = structlog.get_logger(__name__)


def declined(error: stripe.CardError) -> ChargeResult:
    # Stripe's error object leaves out what does not apply: payment_intent, payment_method
    # (whose `card` exists only for cards) and decline_code (issuer declines only).
    details = error.error
    brand, last4 = brand_and_last4(expanded(expanded(details, "payment_method"), "card"))
    return ChargeResult(
        provider_payment_id=expandable_id(details, "payment_intent") or "",
        status=PaymentStatus.FAILED,
        failure_code=failure_code_of(error.code, text(details, "decline_code")),
        failure_message=error.user_message,
        card_brand=brand,
        card_last4=last4,
    )


def refused_charge(error: stripe.InvalidRequestError) -> ChargeResult:
    # Stripe refuses these parameters on every retry, and made no PaymentIntent: failed for good.
    log.warning("stripe_refused_charge", code=error.code, param=error.param)
    missing_method = error.code == "resource_missing" and error.param == "payment_method"
    return ChargeResult(
        provider_payment_id="",
        status=PaymentStatus.FAILED,
        failure_code="payment_method_not_found" if missing_method else error.code,
        failure_message=error.user_message,
    )


def refused_refund(error: stripe.InvalidRequestError) -> RefundResult:
    # E.g. a disputed or uncaptured charge: refused on every retry, so the refund failed.
    log.warning("stripe_refused_refund", code=error.code, param=error.param)
    return RefundResult("", RefundStatus.FAILED, error.code or "refused_by_stripe")


def refused_capture(error: stripe.InvalidRequestError) -> PaymentNotCapturable | InvalidAmount:
    # E.g. already captured, canceled or expired; or more than the authorization holds.
    log.warning("stripe_refused_capture", code=error.code, param=error.param)
    if error.param == "amount_to_capture":
        return InvalidAmount("The gateway refused the capture amount.", field="amount")
    return PaymentNotCapturable("The gateway cannot capture this payment.")


def unavailable(error: stripe.StripeError) -> GatewayUnavailable:
    # Stripe's message is not passed on: it can quote (masked) keys and our parameters.
    fields = {
        "error": type(error).__name__,
        "http_status": error.http_status,
        "code": error.code,
        "request_id": error.request_id,
    }
    if isinstance(error, stripe.IdempotencyError):
        # Our keys are derived from our ids: one key with other parameters is a bug here.
        log.error("stripe_idempotency_key_conflict", **fields)
        return GatewayUnavailable("The payment gateway refused a reused idempotency key.")
    log.warning("stripe_unavailable", **fields)
    return GatewayUnavailable()
