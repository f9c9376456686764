"""Stripe Customers, their attached PaymentMethods, the default and SetupIntents."""

import stripe
import structlog
from stripe.params import CustomerUpdateParams

from payments.gateways.base import SavedMethod
from payments.gateways.stripe.errors import unavailable
from payments.gateways.stripe.reading import expanded, field, text
from payments.shared.errors import GatewayUnavailable, PaymentMethodNotFound

log = structlog.get_logger(__name__)


class StripeCustomers:
    """The customer half of the Stripe gateway, on the gateway's own SDK client."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    async def create_customer(self, customer_id: str, idempotency_key: str) -> str:
        """A Stripe Customer carrying only our id (no email or name leaves the service)."""
        try:
            customer = await self._client.v1.customers.create_async(
                {"metadata": {"customer_id": customer_id}}, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            raise unavailable(error) from error
        return customer.id

    async def attach_payment_method(
        self, provider_customer_id: str, payment_method_id: str, idempotency_key: str
    ) -> SavedMethod:
        """Attach at Stripe; an unknown, declined or foreign method is PaymentMethodNotFound."""
        try:
            method = await self._client.v1.payment_methods.attach_async(
                payment_method_id,
                {"customer": provider_customer_id},
                {"idempotency_key": idempotency_key},
            )
        except (stripe.InvalidRequestError, stripe.CardError) as error:
            # Refused on every retry: no such method, another customer's, or a failed check.
            log.info("stripe_refused_attach", code=error.code, param=error.param)
            raise PaymentMethodNotFound() from error
        except stripe.StripeError as error:
            raise unavailable(error) from error
        return _saved(method)

    async def detach_payment_method(self, provider_payment_method_id: str) -> None:
        """Detach for good; Stripe refusing because it is no longer attached counts as done."""
        try:
            await self._client.v1.payment_methods.detach_async(provider_payment_method_id)
        except stripe.InvalidRequestError as error:
            log.info("stripe_detach_already_done", code=error.code)
        except stripe.StripeError as error:
            raise unavailable(error) from error

    async def set_default_payment_method(
        self, provider_customer_id: str, provider_payment_method_id: str | None
    ) -> None:
        """Set invoice_settings.default_payment_method; an empty string clears it."""
        params: CustomerUpdateParams = {
            "invoice_settings": {"default_payment_method": provider_payment_method_id or ""}
        }
        try:
            await self._client.v1.customers.update_async(provider_customer_id, params)
        except stripe.StripeError as error:
            raise unavailable(error) from error

    async def create_setup_intent(self, provider_customer_id: str, idempotency_key: str) -> str:
        """An off-session SetupIntent for the frontend; returns its client secret."""
        try:
            intent = await self._client.v1.setup_intents.create_async(
                {
                    "customer": provider_customer_id,
                    "usage": "off_session",
                    "automatic_payment_methods": {"enabled": True},
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise unavailable(error) from error
        secret = text(intent, "client_secret")
        if secret is None:
            raise GatewayUnavailable("The payment gateway returned no client secret.")
        return secret


def _saved(method: stripe.PaymentMethod) -> SavedMethod:
    # Only the id, type, brand, last4 and expiry are kept (no fingerprint, no billing details).
    card = expanded(method, "card")
    return SavedMethod(
        provider_payment_method_id=method.id,
        type=text(method, "type") or "card",
        card_brand=text(card, "brand"),
        card_last4=text(card, "last4"),
        card_exp_month=_number(card, "exp_month"),
        card_exp_year=_number(card, "exp_year"),
    )


def _number(obj: object, name: str) -> int | None:
    value = field(obj, name)
    return value if isinstance(value, int) else None
