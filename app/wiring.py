"""Builds a process's Runtime from settings: the gateway, the token verifier and Redis."""

from redis.asyncio import Redis

from payments.gateways.base import Gateway
from payments.gateways.paypal.signature import WebhookVerifier, trust_anchors
from payments.gateways.simulated.paypal import DEVELOPMENT_CERT_URL, SimulatedPayPal
from payments.runtime import Runtime
from payments.shared.auth import TokenVerifier
from payments.shared.settings import GatewayName, Settings


def build_runtime(settings: Settings, gateway: Gateway | None = None) -> Runtime:
    """Wire the process's collaborators; tests may pass their own gateway."""
    return Runtime(
        settings=settings,
        gateway=gateway or build_gateway(settings),
        verifier=build_verifier(settings),
        redis=Redis.from_url(settings.redis_url, protocol=3) if settings.redis_url else None,
        paypal=build_paypal(settings),
    )


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
    from payments.gateways.simulated.gateway import SimulatedGateway

    return SimulatedGateway.from_settings(settings)


def build_paypal(settings: Settings) -> Gateway | None:
    """The simulated PayPal without PayPal credentials (DESIGN.md section 4).

    With credentials the PayPal rail is PayPal's own client, which this branch does not
    have yet: PayPal payments are then refused as unsupported rather than simulated.
    """
    if settings.paypal_credentials is None:
        return SimulatedPayPal.from_settings(settings)
    return None


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
