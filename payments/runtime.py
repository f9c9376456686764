"""The long-lived collaborators of a process (gateway, token verifier, Redis), from settings."""

from dataclasses import dataclass, field
from datetime import timedelta

from redis.asyncio import Redis

from payments.auth import TokenVerifier
from payments.gateways.base import Gateway
from payments.idempotency import KeyPolicy
from payments.money import DEFAULT_MAXIMUM, DEFAULT_MINIMUMS, AmountLimits
from payments.rate_limits import RateLimiter
from payments.service_config import ServiceConfig
from payments.settings import GatewayName, Settings


@dataclass
class Runtime:
    settings: Settings
    gateway: Gateway
    verifier: TokenVerifier
    redis: Redis | None = None
    services: ServiceConfig = field(init=False)
    rate_limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.services = build_service_config(self.settings, self.gateway)
        self.rate_limiter = RateLimiter(
            self.settings.rate_limit_default,
            self.settings.rate_limit_charge,
            self.settings.redis_url,
            self.settings.queue_namespace,
        )

    async def aclose(self) -> None:
        await self.gateway.aclose()
        if self.redis is not None:
            await self.redis.aclose()


def build_runtime(settings: Settings, gateway: Gateway | None = None) -> Runtime:
    """Wire the process's collaborators; tests may pass their own gateway."""
    return Runtime(
        settings=settings,
        gateway=gateway or build_gateway(settings),
        verifier=build_verifier(settings),
        redis=Redis.from_url(settings.redis_url, protocol=3) if settings.redis_url else None,
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
        from payments.gateways.stripe import StripeGateway

        assert settings.stripe_api_key is not None
        return StripeGateway(settings.stripe_api_key.get_secret_value(), settings.stripe_api_base)
    from payments.gateways.simulated import SimulatedGateway

    return SimulatedGateway.from_settings(settings)


def build_service_config(settings: Settings, gateway: Gateway) -> ServiceConfig:
    return ServiceConfig(
        gateway=gateway,
        keys=KeyPolicy(
            ttl=timedelta(hours=settings.idempotency_key_ttl_hours),
            lock_timeout=timedelta(seconds=settings.idempotency_lock_timeout_seconds),
        ),
        limits=amount_limits(settings),
    )


def amount_limits(settings: Settings) -> AmountLimits:
    """Charge bounds: Stripe's minimums and maximum, overridden by the CHARGE_AMOUNT_* settings."""
    return AmountLimits(
        minimums={**DEFAULT_MINIMUMS, **settings.charge_amount_minimums},
        maximum=settings.charge_amount_maximum or DEFAULT_MAXIMUM,
        maximums=settings.charge_amount_maximums,
    )
