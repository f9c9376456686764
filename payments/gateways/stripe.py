"""The Stripe gateway: PaymentIntents and refunds through the official SDK's async client."""

from typing import Literal

import stripe
import structlog
from stripe.params import PaymentIntentCreateParams, RefundCreateParams

from models.enums import PaymentStatus, RefundReason, RefundStatus
from payments.gateways.base import ChargeRequest, ChargeResult, RefundRequest, RefundResult
from payments.gateways.stripe_customers import StripeCustomers
from payments.gateways.stripe_objects import _expanded, _field, _id, _text, _unavailable
from payments.shared.errors import NotFound, RefundExceedsAvailable

log = structlog.get_logger(__name__)

_PAYMENT_STATUSES = {
    "succeeded": PaymentStatus.SUCCEEDED,
    "processing": PaymentStatus.PROCESSING,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "canceled": PaymentStatus.CANCELED,
    # Only reached after a failed confirmation: we always confirm on creation.
    "requires_payment_method": PaymentStatus.FAILED,
}
_REFUND_STATUSES = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}
_REFUND_REASONS: dict[RefundReason, Literal["duplicate", "fraudulent", "requested_by_customer"]] = {
    RefundReason.DUPLICATE: "duplicate",
    RefundReason.FRAUDULENT: "fraudulent",
    RefundReason.REQUESTED_BY_CUSTOMER: "requested_by_customer",
}
_OVER_REFUND_CODES = {"amount_too_large", "charge_already_refunded"}


class StripeGateway:
    """Charges and refunds through Stripe; declines are results, unknown outcomes raise."""

    name = "stripe"

    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        *,
        max_network_retries: int = 2,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            # Safe because every write carries an idempotency key: a retry is a replay.
            max_network_retries=max_network_retries,
            http_client=self._http,
        )
        self.customers = StripeCustomers(self._client)

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        """Create and confirm a PaymentIntent; a card decline comes back as FAILED."""
        try:
            intent = await self._client.v1.payment_intents.create_async(
                _intent_params(request), {"idempotency_key": request.idempotency_key}
            )
        except stripe.CardError as error:
            return _declined(error)
        except stripe.InvalidRequestError as error:
            return _refused_charge(error)
        except stripe.StripeError as error:
            raise _unavailable(error) from error
        return _charge_result(intent)

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund part of a PaymentIntent; Stripe's own over-refund check is the last guard."""
        try:
            refund = await self._client.v1.refunds.create_async(
                _refund_params(request), {"idempotency_key": request.idempotency_key}
            )
        except stripe.InvalidRequestError as error:
            if error.code in _OVER_REFUND_CODES:
                # Stripe does not say how much is left; our own books answer that before.
                raise RefundExceedsAvailable(request.amount, 0) from error
            return _refused_refund(error)
        except stripe.StripeError as error:
            raise _unavailable(error) from error
        return _refund_result(refund)

    async def retrieve_payment(self, provider_payment_id: str) -> ChargeResult:
        """The PaymentIntent as Stripe has it now; NotFound when Stripe has no such id."""
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(
                provider_payment_id, {"expand": ["latest_charge"]}
            )
        except stripe.InvalidRequestError as error:
            raise NotFound("Payment intent") from error
        except stripe.StripeError as error:
            raise _unavailable(error) from error
        return _charge_result(intent)

    async def find_payment(self, payment_id: str) -> ChargeResult | None:
        """The PaymentIntent whose metadata names our payment, by Stripe's search.

        Search lags writes (usually by under a minute), so a miss on a young payment
        means "not yet known", which the reconciler's abandon delay accounts for.
        """
        query = f"metadata['payment_id']:'{payment_id}'"
        try:
            found = await self._client.v1.payment_intents.search_async(
                {"query": query, "expand": ["data.latest_charge"]}
            )
        except stripe.StripeError as error:
            raise _unavailable(error) from error
        return _charge_result(found.data[0]) if found.data else None

    async def find_refund(self, refund_id: str, provider_payment_id: str) -> RefundResult | None:
        """The PaymentIntent's refund whose metadata names our refund, if Stripe made it."""
        try:
            page = await self._client.v1.refunds.list_async(
                {"payment_intent": provider_payment_id, "limit": 100}
            )
            async for refund in page.auto_paging_iter():
                if _metadata_value(_field(refund, "metadata"), "refund_id") == refund_id:
                    return _refund_result(refund)
        except stripe.StripeError as error:
            raise _unavailable(error) from error
        return None

    async def aclose(self) -> None:
        """Close the SDK's pooled HTTP connections."""
        await self._http.close_async()  # type: ignore[no-untyped-call]


def _intent_params(request: ChargeRequest) -> PaymentIntentCreateParams:
    params: PaymentIntentCreateParams = {
        "amount": request.amount,
        "currency": request.currency.lower(),
        "payment_method": request.payment_method_id,
        "confirm": True,
        # Redirect-based methods would need a return_url; ours complete on the page.
        "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        "metadata": {"payment_id": request.payment_id, "customer_id": request.customer_id},
        "expand": ["latest_charge"],
    }
    if request.description:
        params["description"] = request.description
    if request.provider_customer_id:
        # A saved method charged without the customer present (no 3-D Secure prompt possible).
        params["customer"] = request.provider_customer_id
        params["off_session"] = True
    return params


def _refund_params(request: RefundRequest) -> RefundCreateParams:
    params: RefundCreateParams = {
        "payment_intent": request.provider_payment_id,
        "amount": request.amount,
        "metadata": {"refund_id": request.refund_id, "payment_id": request.payment_id},
    }
    if request.reason:
        params["reason"] = _REFUND_REASONS[request.reason]
    return params


def _charge_result(intent: stripe.PaymentIntent) -> ChargeResult:
    # Unknown or in-between statuses are in flight: a webhook or the reconciler settles them.
    status = _PAYMENT_STATUSES.get(intent.status, PaymentStatus.PROCESSING)
    # Null unless a confirmation failed; its code, decline_code and message are conditional.
    error = _expanded(intent, "last_payment_error") if status is PaymentStatus.FAILED else None
    brand, last4 = _brand_and_last4(_charge_card(_expanded(intent, "latest_charge")))
    # Only needed (and only shown to the owner) while the customer must authenticate.
    secret = _text(intent, "client_secret") if status is PaymentStatus.REQUIRES_ACTION else None
    return ChargeResult(
        provider_payment_id=intent.id,
        status=status,
        failure_code=_failure_code(_text(error, "code"), _text(error, "decline_code")),
        failure_message=_text(error, "message"),
        client_secret=secret,
        card_brand=brand,
        card_last4=last4,
    )


def _charge_card(charge: stripe.StripeObject | None) -> stripe.StripeObject | None:
    # payment_method_details is nullable, and holds `card` only when a card paid (not a debit).
    return _expanded(_expanded(charge, "payment_method_details"), "card")


def _brand_and_last4(card: stripe.StripeObject | None) -> tuple[str | None, str | None]:
    # Nothing else of a card is ever kept (DESIGN: only gateway ids, brand and last4).
    return _text(card, "brand"), _text(card, "last4")


def _failure_code(code: str | None, decline_code: str | None) -> str | None:
    # A generic decline tells no more than card_declined, the code our clients know.
    if code == "card_declined" and decline_code not in (None, "generic_decline"):
        return decline_code
    return code


def _declined(error: stripe.CardError) -> ChargeResult:
    # Stripe's error object leaves out what does not apply: payment_intent, payment_method
    # (whose `card` exists only for cards) and decline_code (issuer declines only).
    details = error.error
    brand, last4 = _brand_and_last4(_expanded(_expanded(details, "payment_method"), "card"))
    return ChargeResult(
        provider_payment_id=_id(details, "payment_intent") or "",
        status=PaymentStatus.FAILED,
        failure_code=_failure_code(error.code, _text(details, "decline_code")),
        failure_message=error.user_message,
        card_brand=brand,
        card_last4=last4,
    )


def _refused_charge(error: stripe.InvalidRequestError) -> ChargeResult:
    # Stripe refuses these parameters on every retry, and made no PaymentIntent: failed for good.
    log.warning("stripe_refused_charge", code=error.code, param=error.param)
    missing_method = error.code == "resource_missing" and error.param == "payment_method"
    return ChargeResult(
        provider_payment_id="",
        status=PaymentStatus.FAILED,
        failure_code="payment_method_not_found" if missing_method else error.code,
        failure_message=error.user_message,
    )


def _refused_refund(error: stripe.InvalidRequestError) -> RefundResult:
    # E.g. a disputed or uncaptured charge: refused on every retry, so the refund failed.
    log.warning("stripe_refused_refund", code=error.code, param=error.param)
    return RefundResult("", RefundStatus.FAILED, error.code or "refused_by_stripe")


def _metadata_value(metadata: object, name: str) -> str | None:
    value = _field(metadata, name)
    return str(value) if value is not None else None


def _refund_result(refund: stripe.Refund) -> RefundResult:
    # status is nullable; failure_reason is sent only once a refund has failed.
    status = _text(refund, "status") or "pending"
    return RefundResult(
        provider_refund_id=refund.id,
        status=_REFUND_STATUSES.get(status, RefundStatus.PENDING),
        failure_reason=_text(refund, "failure_reason"),
    )
