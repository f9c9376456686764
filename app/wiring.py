"""Builds a process's Runtime from settings: the gateway, the token verifier and Redis."""

from datetime import timedelta
from urllib.parse import urlsplit

from redis.asyncio import Redis

from payments.gateways.base import Gateway
from payments.gateways.paypal.disputes import paypal_evidence
from payments.gateways.paypal.signature import WebhookVerifier, trust_anchors
from payments.gateways.simulated.disputes import SimulatedDisputes
from payments.gateways.simulated.gateway import SimulatedGateway
from payments.gateways.simulated.paypal import (
    DEVELOPMENT_CERT_URL,
    DEVELOPMENT_WEBHOOK_ID,
    SimulatedPayPal,
)
from payments.runtime import Runtime
from payments.shared.auth import TokenVerifier
from payments.shared.settings import GatewayName, Settings


def build_runtime(settings: Settings, gateway: Gateway | None = None) -> Runtime:
    """Wire the process's collaborators; tests may pass their own gateway."""
    redis = Redis.from_url(settings.redis_url, protocol=3) if settings.redis_url else None
    return Runtime(
        settings=settings,
        gateway=gateway or build_gateway(settings),
        verifier=build_verifier(settings),
        redis=redis,
        paypal=build_paypal(settings, redis),
    )


def build_paypal(settings: Settings, redis: Redis | None) -> Gateway | None:
    """PayPal's own rail when its credentials are set (settings checked REDIS_URL then).

    Without credentials, the simulated PayPal (DESIGN.md section 4), except in production:
    there its approval page would turn a click into a SUCCEEDED payment with no money
    behind it, so PAYPAL is PAYMENT_METHOD_TYPE_UNSUPPORTED instead.
    """
    credentials = settings.paypal_credentials
    if credentials is None:
        return None if settings.is_production else simulated_paypal(settings)
    if redis is None:
        return None
    from payments.gateways.paypal.client import PayPalClient
    from payments.gateways.paypal.gateway import PayPalGateway

    client = PayPalClient(
        *credentials,
        redis=redis,
        namespace=settings.queue_namespace,
        live=settings.paypal_environment == "live",
        api_base=settings.paypal_api_base,
    )
    return PayPalGateway(client)


def build_verifier(settings: Settings) -> TokenVerifier:
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
    return TokenVerifier(
        secret=secret,
        jwks_url=None if secret else settings.jwt_jwks_url,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def build_gateway(settings: Settings) -> Gateway:
    if settings.gateway_name is GatewayName.STRIPE:
        from payments.gateways.stripe.gateway import StripeGateway

        assert settings.stripe_api_key is not None
        return StripeGateway(settings.stripe_api_key.get_secret_value(), settings.stripe_api_base)
    return simulated_gateway(settings)


def simulated_gateway(settings: Settings) -> SimulatedGateway:
    """The simulated gateway, given only the SIMULATED_* values and the webhook secret."""
    return SimulatedGateway(
        webhook_secret=settings.webhook_secrets[0],
        webhook_url=settings.simulated_webhook_url,
        webhook_delay_seconds=settings.simulated_webhook_delay_ms / 1000,
        authorization_ttl=timedelta(seconds=settings.simulated_authorization_ttl_seconds),
    )


def simulated_paypal(settings: Settings) -> SimulatedPayPal:
    """The simulated PayPal, answering at this service's own page and webhook route."""
    own = urlsplit(settings.simulated_webhook_url or "")
    return SimulatedPayPal(
        base_url=f"{own.scheme}://{own.netloc}" if own.netloc else None,
        webhook_id=settings.paypal_webhook_id or DEVELOPMENT_WEBHOOK_ID,
        webhook_delay_seconds=settings.simulated_webhook_delay_ms / 1000,
        # PayPal's evidence types, so what passes here passes at PayPal.
        dispute_answers=SimulatedDisputes(evidence_rule=paypal_evidence, stages_evidence=False),
    )


def build_paypal_verifier(settings: Settings, paypal: Gateway | None) -> WebhookVerifier:
    """The signature check of `/webhooks/paypal`: PayPal's certificates.

    In simulated mode also the development certificate this process made, which no other
    process has.
    """
    anchors, tls = trust_anchors(settings.paypal_cert_ca_file)
    if not isinstance(paypal, SimulatedPayPal):
        assert settings.paypal_webhook_id is not None  # required with credentials
        return WebhookVerifier(
            settings.paypal_webhook_id, settings.paypal_certificate_hosts, anchors, tls
        )
    return WebhookVerifier(
        paypal.webhook_id,
        settings.paypal_certificate_hosts,
        [*anchors, paypal.authority.certificate],
        tls,
        known={DEVELOPMENT_CERT_URL: paypal.signer.certificate_pem},
    )
