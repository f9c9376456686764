"""The Stripe gateway: PaymentIntents and refunds through the official SDK's async client."""

from collections.abc import Awaitable
from dataclasses import replace
from typing import Literal

import stripe
import structlog
from stripe.params import (
    EventListParams,
    PaymentIntentCancelParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    RefundCreateParams,
)

from models.enums import (
    CaptureMethod,
    PaymentMethodType,
    PaymentStatus,
)
from payments.gateways.base import (
    CancelRequest,
    CaptureRequest,
    ChargeRequest,
    ChargeResult,
    ConfirmRequest,
    FundingRequest,
    IntentRequest,
    Json,
    RefundRequest,
    RefundResult,
)
from payments.gateways.stripe.bank_transfers import funding_options
from payments.gateways.stripe.customers import StripeCustomers
from payments.gateways.stripe.disputes import StripeDisputes
from payments.gateways.stripe.errors import (
    declined,
    refused_capture,
    refused_charge,
    refused_refund,
    unavailable,
)
from payments.gateways.stripe.reading import (
    charge_result,
    field,
    metadata_value,
    text,
)
from payments.gateways.stripe.updates import HANDLED_EVENT_TYPES
from payments.gateways.stripe.vocabulary import CANCEL_REASONS, REFUND_REASONS, refund_status
from payments.shared.errors import (
    NotFound,
    PaymentNotCancelable,
    PaymentNotFundable,
    RefundExceedsAvailable,
)

log = structlog.get_logger(__name__)

_OVER_REFUND_CODES = {"amount_too_large", "charge_already_refunded"}
# Stripe's largest page; a minute's worth of events is rarely more than one page.
_EVENTS_PAGE_SIZE = 100


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
        self.disputes = StripeDisputes(self._client)
        # Only a test key may make money up (the test helpers' fund-cash-balance).
        self.test_mode = api_key.startswith("sk_test_")

    def accepts(self, currency: str, capture_method: CaptureMethod) -> bool:
        """Every currency of ours, either way of capturing."""
        return True

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        """Create and confirm a PaymentIntent; a card decline comes back as FAILED."""
        return await _paid(
            self._client.v1.payment_intents.create_async(
                _intent_params(request), {"idempotency_key": request.idempotency_key}
            )
        )

    async def create_intent(self, request: IntentRequest) -> ChargeResult:
        """An unconfirmed PaymentIntent for the Payment Element; its client secret goes out.

        A bank transfer is confirmed at once: it waits (REQUIRES_ACTION) for the money its
        instructions ask the customer to send.
        """
        if request.payment_method_type is PaymentMethodType.BANK_TRANSFER:
            return await _paid(
                self._client.v1.payment_intents.create_async(
                    _transfer_params(request), {"idempotency_key": request.idempotency_key}
                )
            )
        params: PaymentIntentCreateParams = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            # The Payment Element offers every enabled method; redirects come back via Stripe.js.
            "automatic_payment_methods": {"enabled": True},
            "capture_method": _capture_method(request.capture_method),
            "metadata": {"payment_id": request.payment_id, "customer_id": request.customer_id},
        }
        if request.description:
            params["description"] = request.description
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params, {"idempotency_key": request.idempotency_key}
            )
        except stripe.StripeError as error:
            raise unavailable(error) from error
        return replace(
            charge_result(intent),
            status=PaymentStatus.REQUIRES_PAYMENT_METHOD,
            client_secret=text(intent, "client_secret"),
        )

    async def confirm(self, request: ConfirmRequest) -> ChargeResult:
        """Confirm with a payment method server-side; a decline comes back as FAILED."""
        params: PaymentIntentConfirmParams = {"expand": ["latest_charge"]}
        if request.payment_method_id is not None:
            params["payment_method"] = request.payment_method_id
        if request.return_url:
            params["return_url"] = request.return_url
        return await _paid(
            self._client.v1.payment_intents.confirm_async(
                request.provider_payment_id, params, {"idempotency_key": request.idempotency_key}
            )
        )

    async def capture(self, request: CaptureRequest) -> ChargeResult:
        """Capture `amount_to_capture` of an authorization; Stripe releases the rest."""
        try:
            intent = await self._client.v1.payment_intents.capture_async(
                request.provider_payment_id,
                {"amount_to_capture": request.amount_to_capture, "expand": ["latest_charge"]},
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.InvalidRequestError as error:
            raise refused_capture(error) from error
        except stripe.StripeError as error:
            raise unavailable(error) from error
        return charge_result(intent)

    async def cancel(self, request: CancelRequest) -> ChargeResult:
        """Cancel an open PaymentIntent or void its authorization, with Stripe's reason."""
        params: PaymentIntentCancelParams = {}
        if request.reason:
            params["cancellation_reason"] = CANCEL_REASONS[request.reason]
        try:
            intent = await self._client.v1.payment_intents.cancel_async(
                request.provider_payment_id, params, {"idempotency_key": request.idempotency_key}
            )
        except stripe.InvalidRequestError as error:
            log.warning("stripe_refused_cancel", code=error.code)
            raise PaymentNotCancelable("The gateway cannot cancel this payment.") from error
        except stripe.StripeError as error:
            raise unavailable(error) from error
        # Stripe reports its own reason; ours (e.g. EXPIRED) is the one we asked for.
        return replace(charge_result(intent), cancellation_reason=request.reason)

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
            return refused_refund(error)
        except stripe.StripeError as error:
            raise unavailable(error) from error
        return _refund_result(refund)

    async def fund_bank_transfer(self, request: FundingRequest) -> None:
        """Stripe's test bank: fund the customer's cash balance with the transfer's reference.

        Stripe applies the balance to the waiting PaymentIntent and reports it by events
        (`payment_intent.partially_funded`, `payment_intent.succeeded`).
        """
        try:
            await self._client.v1.test_helpers.customers.fund_cash_balance_async(
                request.provider_customer_id or "",
                {
                    "amount": request.amount,
                    "currency": request.currency.lower(),
                    "reference": request.reference,
                },
            )
        except stripe.InvalidRequestError as error:
            log.warning("stripe_refused_funding", code=error.code)
            raise PaymentNotFundable("The gateway cannot fund this transfer.") from error
        except stripe.StripeError as error:
            raise unavailable(error) from error

    async def list_events(self, created_after: int) -> list[Json]:
        """Stripe's Events list since `created_after`: what webhooks may have missed."""
        try:
            return await _listed_events(self._client, created_after)
        except stripe.StripeError as error:
            raise unavailable(error) from error

    async def retrieve_payment(self, provider_payment_id: str) -> ChargeResult:
        """The PaymentIntent as Stripe has it now; NotFound when Stripe has no such id."""
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(
                provider_payment_id, {"expand": ["latest_charge"]}
            )
        except stripe.InvalidRequestError as error:
            raise NotFound("Payment intent") from error
        except stripe.StripeError as error:
            raise unavailable(error) from error
        return charge_result(intent)

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
            raise unavailable(error) from error
        return charge_result(found.data[0]) if found.data else None

    async def find_refund(self, refund_id: str, provider_payment_id: str) -> RefundResult | None:
        """The PaymentIntent's refund whose metadata names our refund, if Stripe made it."""
        try:
            page = await self._client.v1.refunds.list_async(
                {"payment_intent": provider_payment_id, "limit": 100}
            )
            async for refund in page.auto_paging_iter():
                if metadata_value(field(refund, "metadata"), "refund_id") == refund_id:
                    return _refund_result(refund)
        except stripe.StripeError as error:
            raise unavailable(error) from error
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
    if request.capture_method is CaptureMethod.MANUAL:
        params["capture_method"] = "manual"
    if request.description:
        params["description"] = request.description
    if request.provider_customer_id:
        # A saved method charged without the customer present (no 3-D Secure prompt possible).
        params["customer"] = request.provider_customer_id
        params["off_session"] = True
    return params


def _transfer_params(request: IntentRequest) -> PaymentIntentCreateParams:
    # The customer's cash balance pays; a bank transfer funds it when it falls short.
    params: PaymentIntentCreateParams = {
        "amount": request.amount,
        "currency": request.currency.lower(),
        "customer": request.provider_customer_id or "",
        "allowed_payment_method_types": ["customer_balance"],
        "payment_method_data": {"type": "customer_balance"},
        "payment_method_options": {"customer_balance": funding_options(request.currency)},
        "confirm": True,
        "metadata": {"payment_id": request.payment_id, "customer_id": request.customer_id},
    }
    if request.description:
        params["description"] = request.description
    return params


async def _paid(confirming: Awaitable[stripe.PaymentIntent]) -> ChargeResult:
    # A card decline or a refused payment method is a FAILED result, not an error.
    try:
        intent = await confirming
    except stripe.CardError as error:
        return declined(error)
    except stripe.InvalidRequestError as error:
        return refused_charge(error)
    except stripe.StripeError as error:
        raise unavailable(error) from error
    return charge_result(intent)


def _capture_method(method: CaptureMethod) -> Literal["automatic", "manual"]:
    return "manual" if method is CaptureMethod.MANUAL else "automatic"


def _refund_params(request: RefundRequest) -> RefundCreateParams:
    params: RefundCreateParams = {
        "payment_intent": request.provider_payment_id,
        "amount": request.amount,
        "metadata": {"refund_id": request.refund_id, "payment_id": request.payment_id},
    }
    if request.reason:
        params["reason"] = REFUND_REASONS[request.reason]
    return params


def _refund_result(refund: stripe.Refund) -> RefundResult:
    # status is nullable; failure_reason is sent only once a refund has failed.
    status = text(refund, "status") or "pending"
    return RefundResult(
        provider_refund_id=refund.id,
        status=refund_status(status),
        failure_reason=text(refund, "failure_reason"),
    )


async def _listed_events(client: stripe.StripeClient, created_after: int) -> list[Json]:
    """Every event we act on created after `created_after`, oldest first, as plain JSON."""
    params: EventListParams = {
        "created": {"gt": created_after},
        "types": sorted(HANDLED_EVENT_TYPES),
        "limit": _EVENTS_PAGE_SIZE,
    }
    events: list[Json] = []
    while True:
        page = await client.v1.events.list_async(params)
        events += [event.to_dict(for_json=True) for event in page.data]
        if not page.has_more or not page.data:
            # Stripe lists newest first; events are applied in the order they happened, and
            # those of one second (a transfer's last two fundings) in Stripe's order too.
            return sorted(reversed(events), key=lambda event: event.get("created") or 0)
        params["starting_after"] = page.data[-1].id
