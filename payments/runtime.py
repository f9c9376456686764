"""The long-lived collaborators of a process (gateway, token verifier, Redis) in one value."""

from dataclasses import dataclass, field
from datetime import timedelta

from redis.asyncio import Redis

from payments.gateways.base import BankTransferGateway, Gateway
from payments.idempotency.keys import KeyPolicy
from payments.service_config import ServiceConfig
from payments.shared.auth import TokenVerifier
from payments.shared.money import DEFAULT_MAXIMUM, DEFAULT_MINIMUMS, AmountLimits
from payments.shared.rate_limits import RateLimiter
from payments.shared.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    gateway: Gateway
    verifier: TokenVerifier
    redis: Redis | None = None
    # The PAYPAL rail, where this process has one.
    paypal: Gateway | None = None
    services: ServiceConfig = field(init=False)
    rate_limiter: RateLimiter = field(init=False)
    # How long settled gateway events stay in the inbox (WEBHOOK_RETENTION_DAYS).
    webhook_retention: timedelta = field(init=False)

    def __post_init__(self) -> None:
        self.services = build_service_config(self.settings, self.gateway, self.paypal)
        self.webhook_retention = timedelta(days=self.settings.webhook_retention_days)
        self.rate_limiter = RateLimiter(
            self.settings.rate_limit_default,
            self.settings.rate_limit_charge,
            self.settings.rate_limit_anonymous,
            self.settings.redis_url,
            self.settings.queue_namespace,
        )

    async def aclose(self) -> None:
        await self.gateway.aclose()
        if self.paypal is not None:
            await self.paypal.aclose()
        if self.redis is not None:
            await self.redis.aclose()


def build_service_config(
    settings: Settings, gateway: Gateway, paypal: Gateway | None = None
) -> ServiceConfig:
    """The services' rails and policies; bank transfers go where cards go (Stripe, or simulated)."""
    return ServiceConfig(
        gateway=gateway,
        paypal=paypal,
        bank_transfer=gateway if isinstance(gateway, BankTransferGateway) else None,
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
