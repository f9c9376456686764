"""Builds a process's Runtime from settings: the gateway, the token verifier and Redis."""

from datetime import timedelta

from redis.asyncio import Redis

from payments.gateways.base import Gateway
from payments.gateways.simulated.gateway import SimulatedGateway
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
    """PayPal's own rail when its credentials are set (settings checked REDIS_URL then)."""
    credentials = settings.paypal_credentials
    if credentials is None or redis is None:
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
