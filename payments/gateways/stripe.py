"""The Stripe gateway: the official SDK's async StripeClient, with keys derived from our ids."""

from typing import Any

import stripe

from models.enums import PaymentStatus, RefundReason, RefundStatus
from payments.errors import GatewayUnavailable, NotFound, RefundExceedsAvailable
from payments.gateways.base import ChargeRequest, ChargeResult, RefundRequest, RefundResult

_PAYMENT_STATUSES = {
    "succeeded": PaymentStatus.SUCCEEDED,
    "processing": PaymentStatus.PROCESSING,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "requires_confirmation": PaymentStatus.REQUIRES_ACTION,
    "requires_capture": PaymentStatus.PROCESSING,
    "canceled": PaymentStatus.CANCELED,
    "requires_payment_method": PaymentStatus.FAILED,
}
_REFUND_STATUSES = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}
_REFUND_REASONS = {
    RefundReason.DUPLICATE: "duplicate",
    RefundReason.FRAUDULENT: "fraudulent",
    RefundReason.REQUESTED_BY_CUSTOMER: "requested_by_customer",
}
# Outcomes Stripe could not tell us: the request may or may not have been applied.
_UNKNOWN_OUTCOME = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)
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
            # Safe because every request carries an idempotency key: a retry is a replay.
            max_network_retries=max_network_retries,
            http_client=self._http,
        )

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        """Create and confirm a PaymentIntent; a card decline comes back as FAILED."""
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "payment_method": request.payment_method_id,
            "confirm": True,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "metadata": {"payment_id": request.payment_id, "customer_id": request.customer_id},
            "expand": ["latest_charge"],
        }
        if request.description:
            params["description"] = request.description
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as error:
            return _declined(error)
        except stripe.InvalidRequestError as error:
            return _invalid_request(error)
        except (*_UNKNOWN_OUTCOME, stripe.IdempotencyError) as error:
            raise GatewayUnavailable(f"Stripe: {error.user_message or error}") from None
        return _charge_result(intent)

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund part of a PaymentIntent; Stripe's own over-refund check is the last guard."""
        params: dict[str, Any] = {
            "payment_intent": request.provider_payment_id,
            "amount": request.amount,
            "metadata": {"refund_id": request.refund_id, "payment_id": request.payment_id},
        }
        if request.reason:
            params["reason"] = _REFUND_REASONS[request.reason]
        try:
            refund = await self._client.v1.refunds.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.InvalidRequestError as error:
            if error.code in _OVER_REFUND_CODES:
                raise RefundExceedsAvailable(request.amount, 0) from None
            raise GatewayUnavailable(f"Stripe refused the refund: {error.user_message}") from None
        except (*_UNKNOWN_OUTCOME, stripe.IdempotencyError) as error:
            raise GatewayUnavailable(f"Stripe: {error.user_message or error}") from None
        return _refund_result(refund)

    async def retrieve_payment(self, provider_payment_id: str) -> ChargeResult:
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(
                provider_payment_id, params={"expand": ["latest_charge"]}
            )
        except stripe.InvalidRequestError:
            raise NotFound("Payment intent") from None
        except _UNKNOWN_OUTCOME as error:
            raise GatewayUnavailable(f"Stripe: {error}") from None
        return _charge_result(intent)

    async def find_payment(self, payment_id: str) -> ChargeResult | None:
        query = f"metadata['payment_id']:'{payment_id}'"
        try:
            found = await self._client.v1.payment_intents.search_async(params={"query": query})
        except (*_UNKNOWN_OUTCOME, stripe.InvalidRequestError) as error:
            raise GatewayUnavailable(f"Stripe: {error}") from None
        return _charge_result(found.data[0]) if found.data else None

    async def find_refund(self, refund_id: str, provider_payment_id: str) -> RefundResult | None:
        try:
            refunds = await self._client.v1.refunds.list_async(
                params={"payment_intent": provider_payment_id, "limit": 100}
            )
        except (*_UNKNOWN_OUTCOME, stripe.InvalidRequestError) as error:
            raise GatewayUnavailable(f"Stripe: {error}") from None
        ours = [r for r in refunds.data if _metadata(r).get("refund_id") == refund_id]
        return _refund_result(ours[0]) if ours else None

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


def _charge_result(intent: stripe.PaymentIntent) -> ChargeResult:
    status = _PAYMENT_STATUSES.get(intent.status, PaymentStatus.PROCESSING)
    error = intent.last_payment_error
    brand, last4 = _card(intent)
    return ChargeResult(
        provider_payment_id=intent.id,
        status=status,
        failure_code=(error.decline_code or error.code) if error else None,
        failure_message=error.message if error else None,
        client_secret=intent.client_secret if status is PaymentStatus.REQUIRES_ACTION else None,
        card_brand=brand,
        card_last4=last4,
    )


def _card(intent: stripe.PaymentIntent) -> tuple[str | None, str | None]:
    charge = intent.latest_charge
    details = getattr(charge, "payment_method_details", None)
    card = getattr(details, "card", None)
    return (card.brand, card.last4) if card else (None, None)


def _declined(error: stripe.CardError) -> ChargeResult:
    details = error.error
    intent = details.payment_intent if details else None
    return ChargeResult(
        provider_payment_id=intent.id if intent else "",
        status=PaymentStatus.FAILED,
        failure_code=(details.decline_code or details.code) if details else error.code,
        failure_message=error.user_message,
    )


def _invalid_request(error: stripe.InvalidRequestError) -> ChargeResult:
    # Stripe will refuse the same parameters on every retry: the charge failed for good.
    missing_method = error.param == "payment_method" and error.code == "resource_missing"
    return ChargeResult(
        provider_payment_id="",
        status=PaymentStatus.FAILED,
        failure_code="payment_method_not_found"
        if missing_method
        else error.code or "invalid_request",
        failure_message=error.user_message,
    )


def _metadata(refund: stripe.Refund) -> dict[str, Any]:
    metadata = refund.metadata
    if isinstance(metadata, stripe.StripeObject):
        return metadata.to_dict()
    return dict(metadata or {})


def _refund_result(refund: stripe.Refund) -> RefundResult:
    return RefundResult(
        provider_refund_id=refund.id,
        status=_REFUND_STATUSES.get(refund.status or "pending", RefundStatus.PENDING),
        failure_reason=refund.failure_reason,
    )
