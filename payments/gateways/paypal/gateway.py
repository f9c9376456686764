"""The PayPal gateway: orders the buyer approves at PayPal, captures, voids and refunds.

PayPal's own ids beyond the order's (the capture and the authorization) are not kept in
our tables: each call that needs one reads the order first (`GET /v2/checkout/orders`),
whose purchase unit lists them. That costs one GET per capture, cancel or refund and
keeps one source of truth: PayPal's.
"""

from dataclasses import replace
from datetime import UTC, datetime

from paypalserversdk.http.api_response import ApiResponse
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from models.enums import CaptureMethod, PaymentStatus, RefundStatus
from payments.gateways.base import (
    CancelRequest,
    CaptureRequest,
    ChargeRequest,
    ChargeResult,
    ConfirmRequest,
    CustomerGateway,
    DisputeGateway,
    IntentRequest,
    Json,
    RefundRequest,
    RefundResult,
)
from payments.gateways.paypal.client import PayPalClient
from payments.gateways.paypal.disputes import PayPalDisputes
from payments.gateways.paypal.errors import PayPalRefusal
from payments.gateways.paypal.reading import (
    authorization_result,
    authorizations_of,
    capture_result,
    captures_of,
    order_result,
    paypal_money,
    refunds_of,
    text,
)
from payments.gateways.paypal.updates import REFUND_REFERENCE_SEPARATOR, refund_reference
from payments.shared.errors import (
    InvalidAmount,
    NotFound,
    PaymentMethodTypeUnsupported,
    PaymentNotCancelable,
    PaymentNotCapturable,
    PaymentNotConfirmable,
    RefundExceedsAvailable,
)

# PayPal's currencies whose minor unit is ours (ISO 4217). HUF and TWD are left out: PayPal
# takes them in whole units only, where ISO has two decimals, so an amount could not be kept.
CURRENCIES = frozenset(
    {"AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "ILS"}
    | {"JPY", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "SEK", "SGD", "THB", "USD"}
)
# Taken by PayPal only for in-country accounts, which settle at once: no authorization to hold.
_CAPTURE_ONLY = frozenset({"BRL", "CNY", "MYR"})
_REPRESENTATION = "return=representation"
_ALREADY_DONE = ("ORDER_ALREADY_CAPTURED", "ORDER_ALREADY_AUTHORIZED", "ORDER_ALREADY_COMPLETED")
_NOT_APPROVED = ("ORDER_NOT_APPROVED", "ORDER_IS_PENDING_APPROVAL", "PAYER_ACTION_REQUIRED")
_OVER_REFUND = ("REFUND_AMOUNT_EXCEEDED", "CAPTURE_FULLY_REFUNDED")
_REFUND_STATUSES = {
    "COMPLETED": RefundStatus.SUCCEEDED,
    "PENDING": RefundStatus.PENDING,
    "FAILED": RefundStatus.FAILED,
    "CANCELLED": RefundStatus.CANCELED,
}


def approval_request_id(payment_id: str) -> str:
    """The PayPal-Request-Id of the capture (or authorization) of an approved order.

    Derived from our payment alone, so the BFF's confirmPayment and the worker's
    CHECKOUT.ORDER.APPROVED send the same one, and PayPal moves the money once.
    """
    return f"approve-{payment_id}"


class PayPalGateway:
    """PayPal orders as payments; refusals are results or typed errors, outages raise."""

    name = "paypal"

    def __init__(self, client: PayPalClient) -> None:
        self._client = client

    @property
    def customers(self) -> CustomerGateway:
        raise PaymentMethodTypeUnsupported("PayPal keeps no saved payment methods here.")

    @property
    def disputes(self) -> DisputeGateway:
        return PayPalDisputes(self._client)

    def accepts(self, currency: str, capture_method: CaptureMethod) -> bool:
        """Whether PayPal takes `currency`, and can hold it for a MANUAL capture."""
        if capture_method is CaptureMethod.MANUAL and currency in _CAPTURE_ONLY:
            return False
        return currency in CURRENCIES

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        raise PaymentMethodTypeUnsupported("A PayPal payment is approved by the buyer first.")

    async def create_intent(self, request: IntentRequest) -> ChargeResult:
        """A PayPal order for the amount; the buyer is sent to its approval link."""
        unit: Json = {
            "reference_id": request.payment_id,
            "custom_id": request.payment_id,
            "amount": paypal_money(request.amount, request.currency),
        }
        if request.description:
            unit["description"] = request.description[:127]
        body: Json = {
            "intent": "AUTHORIZE" if request.capture_method is CaptureMethod.MANUAL else "CAPTURE",
            "purchase_units": [unit],
        }
        if request.return_url:
            experience = {"return_url": request.return_url, "user_action": "PAY_NOW"}
            if request.cancel_url:
                experience["cancel_url"] = request.cancel_url
            body["payment_source"] = {"paypal": {"experience_context": experience}}
        options = {
            "body": body,
            "paypal_request_id": request.idempotency_key,
            "prefer": _REPRESENTATION,
        }
        try:
            order = await self._client.send(lambda sdk: sdk.orders.create_order(options))
        except PayPalRefusal as refusal:
            refusal.logged("paypal_refused_order")
            return ChargeResult(
                "",
                PaymentStatus.FAILED,
                failure_code=refusal.failure_code,
                failure_message="PayPal refused the order.",
            )
        return order_result(order)

    async def confirm(self, request: ConfirmRequest) -> ChargeResult:
        """Capture (or authorize) the approved order; before approval PaymentNotConfirmable."""
        action = "authorize" if request.capture_method is CaptureMethod.MANUAL else "capture"
        options = {
            "id": request.provider_payment_id,
            "paypal_request_id": approval_request_id(request.payment_id),
            "prefer": _REPRESENTATION,
        }

        def move(sdk: PaypalServersdkClient) -> ApiResponse:
            controller = sdk.orders
            call = controller.authorize_order if action == "authorize" else controller.capture_order
            return call(options)

        try:
            order = await self._client.send(move)
        except PayPalRefusal as refusal:
            if refusal.has(*_NOT_APPROVED):
                raise PaymentNotConfirmable(
                    "The buyer has not approved this PayPal payment yet.", field="paymentId"
                ) from None
            if refusal.has(*_ALREADY_DONE):
                # Moved by a request whose answer we lost (its id expired at PayPal).
                return await self.retrieve_payment(request.provider_payment_id)
            refusal.logged("paypal_refused_" + action)
            return ChargeResult(
                request.provider_payment_id,
                PaymentStatus.FAILED,
                failure_code=refusal.failure_code,
                failure_message="PayPal declined the payment.",
            )
        return order_result(order)

    async def capture(self, request: CaptureRequest) -> ChargeResult:
        """Capture part or all of the authorization; PayPal releases the rest (final_capture)."""
        order = await self._order(request.provider_payment_id)
        authorization = next(iter(authorizations_of(order)), None)
        authorization_id = text(authorization, "id") if authorization else None
        if authorization is None or authorization_id is None:
            raise PaymentNotCapturable("PayPal holds no authorization for this payment.")
        currency = (authorization.get("amount") or {}).get("currency_code", "")
        options = {
            "authorization_id": authorization_id,
            "paypal_request_id": request.idempotency_key,
            "prefer": _REPRESENTATION,
            "body": {
                "amount": paypal_money(request.amount_to_capture, currency),
                "final_capture": True,
            },
        }
        try:
            capture = await self._client.send(
                lambda sdk: sdk.payments.capture_authorized_payment(options)
            )
        except PayPalRefusal as refusal:
            refusal.logged("paypal_refused_capture")
            if refusal.has("MAX_CAPTURE_AMOUNT_EXCEEDED", "DECIMAL_PRECISION"):
                raise InvalidAmount(
                    "The gateway refused the capture amount.", field="amount"
                ) from None
            raise PaymentNotCapturable("PayPal cannot capture this payment.") from None
        return replace(capture_result(request.provider_payment_id, capture), amount_capturable=0)

    async def cancel(self, request: CancelRequest) -> ChargeResult:
        """Void the authorization; an order not yet captured or authorized is just dropped."""
        order = await self._order(request.provider_payment_id)
        canceled = ChargeResult(
            request.provider_payment_id,
            PaymentStatus.CANCELED,
            canceled_at=datetime.now(UTC),
            cancellation_reason=request.reason,
            amount_capturable=0,
        )
        if captures_of(order):
            raise PaymentNotCancelable("PayPal already captured this payment.")
        authorization = next(iter(authorizations_of(order)), None)
        if authorization is None:
            # PayPal has no call to cancel an order: unapproved or uncaptured, it expires.
            return canceled
        if text(authorization, "status") == "VOIDED":
            return canceled
        if authorization_result("", authorization).status is not PaymentStatus.AUTHORIZED:
            raise PaymentNotCancelable("PayPal already captured this authorization.")
        options = {
            "authorization_id": text(authorization, "id"),
            "paypal_request_id": request.idempotency_key,
            "prefer": _REPRESENTATION,
        }
        try:
            await self._client.send(lambda sdk: sdk.payments.void_payment(options))
        except PayPalRefusal as refusal:
            refusal.logged("paypal_refused_void")
            if not refusal.has("PREVIOUSLY_VOIDED", "AUTHORIZATION_VOIDED"):
                raise PaymentNotCancelable("PayPal cannot void this authorization.") from None
        return canceled

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund part of the order's capture (`/v2/payments/captures/{id}/refund`)."""
        order = await self._order(request.provider_payment_id)
        capture = next(
            (c for c in captures_of(order) if text(c, "status") in _REFUNDABLE_CAPTURE), None
        )
        if capture is None:
            return RefundResult("", RefundStatus.FAILED, "capture_not_refundable")
        currency = (capture.get("amount") or {}).get("currency_code", "")
        options = {
            "capture_id": text(capture, "id"),
            "paypal_request_id": request.idempotency_key,
            "prefer": _REPRESENTATION,
            "body": {
                "amount": paypal_money(request.amount, currency),
                # Our payment and refund ids: webhooks and find_refund recognise it by them.
                "custom_id": refund_reference(request.payment_id, request.refund_id),
            },
        }
        try:
            refund = await self._client.send(
                lambda sdk: sdk.payments.refund_captured_payment(options)
            )
        except PayPalRefusal as refusal:
            refusal.logged("paypal_refused_refund")
            if refusal.has(*_OVER_REFUND):
                raise RefundExceedsAvailable(request.amount, 0) from None
            return RefundResult("", RefundStatus.FAILED, refusal.failure_code)
        return _refund_result(refund)

    async def retrieve_payment(self, provider_payment_id: str) -> ChargeResult:
        """The order as PayPal has it now; NotFound when PayPal has no such order."""
        return order_result(await self._order(provider_payment_id))

    async def find_payment(self, payment_id: str) -> ChargeResult | None:
        """None: PayPal cannot look orders up by custom_id.

        An order whose creation answer was lost is found again by the same-key retry,
        whose PayPal-Request-Id (derived from the payment) replays that order.
        """
        return None

    async def find_refund(self, refund_id: str, provider_payment_id: str) -> RefundResult | None:
        """The order's refund carrying our refund id as its custom_id, if PayPal made it."""
        order = await self._order(provider_payment_id)
        # The order's refunds carry ours only in custom_id; the payment part is the order's.
        found = next((r for r in refunds_of(order) if _refund_id_of(r) == refund_id), None)
        return _refund_result(found) if found else None

    async def list_events(self, created_after: int) -> list[Json]:
        """None listed: PayPal payments stuck open are settled from the order's own state."""
        return []

    async def aclose(self) -> None:
        self._client.close()

    async def _order(self, order_id: str) -> Json:
        try:
            return await self._client.send(lambda sdk: sdk.orders.get_order({"id": order_id}))
        except PayPalRefusal as refusal:
            refusal.logged("paypal_refused_order_read")
            raise NotFound("PayPal order") from None


_REFUNDABLE_CAPTURE = frozenset({"COMPLETED", "PARTIALLY_REFUNDED"})


def _refund_id_of(refund: Json) -> str | None:
    reference = text(refund, "custom_id") or ""
    return reference.partition(REFUND_REFERENCE_SEPARATOR)[2] or None


def _refund_result(refund: Json) -> RefundResult:
    status = _REFUND_STATUSES.get(text(refund, "status") or "", RefundStatus.PENDING)
    failure = None
    if status is RefundStatus.FAILED:
        details = refund.get("status_details")
        reason = text(details, "reason") if isinstance(details, dict) else None
        failure = (reason or "refund_failed").lower()
    return RefundResult(text(refund, "id") or "", status, failure)
