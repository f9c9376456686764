"""Configuration read once from the environment, with the names and defaults of DESIGN.md."""

import base64
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from limits import parse as parse_rate_limit
from pydantic import Field, FilePath, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from payments.shared.errors import InvalidCurrency, SettingsError
from payments.shared.money import normalize_currency

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"
DEV_WEBHOOK_SECRET = "whsec_ZGV2LW9ubHktc3RyaXBlLXdlYmhvb2stc2VjcmV0"
DEV_DATABASE_FILE = Path("payments-dev") / "payments.sqlite3"
# HS256 with a shorter key is guessable offline from any one token (RFC 7518, 3.2).
MIN_JWT_SECRET_BYTES = 32


class GatewayName(StrEnum):
    STRIPE = "stripe"
    SIMULATED = "simulated"


class Settings(BaseSettings):
    """Every setting the service reads; secrets are `SecretStr` so they never print."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    database_url: str = ""
    redis_url: str | None = None
    gateway: GatewayName | None = None
    stripe_api_key: SecretStr | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: SecretStr | None = None
    # PayPal (DESIGN.md section 4): with both credentials PAYPAL goes to PayPal itself,
    # without them to the simulated PayPal.
    paypal_client_id: str | None = None
    paypal_client_secret: SecretStr | None = None
    paypal_environment: Literal["sandbox", "live"] = "sandbox"
    paypal_api_base: str | None = None
    paypal_webhook_id: str | None = None
    # Comma-separated `host` or `host:port` entries, besides PayPal's own, that may serve
    # a webhook certificate; plain http only for loopback ones.
    paypal_cert_hosts: str = ""
    # PEM trust anchors for webhook certificate chains (None: the system's).
    paypal_cert_ca_file: FilePath | None = None
    order_service_url: str | None = None
    notification_service_url: str | None = None
    inventory_service_url: str | None = None
    outbound_webhook_secret: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    delivery_max_attempts: int = Field(default=20, ge=1)
    delivery_min_backoff_ms: int = Field(default=1000, ge=0)
    delivery_max_backoff_ms: int = Field(default=600000, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    rate_limit_default: str = "600/minute"
    rate_limit_charge: str = "10/minute"
    # Per client address, for requests without a valid token (HTTP and WebSocket).
    rate_limit_anonymous: str = "120/minute"
    # Proxies whose X-Forwarded-For/-Proto `payments serve` believes (uvicorn's setting):
    # comma-separated addresses or networks, `*` for any; the client address is what they say.
    forwarded_allow_ips: str = "127.0.0.1,::1"
    environment: Literal["development", "production"] = "development"
    idempotency_key_ttl_hours: int = Field(default=24, ge=24)
    idempotency_lock_timeout_seconds: int = Field(default=60, ge=1)
    simulated_webhook_delay_ms: int = Field(default=2000, ge=0)
    simulated_webhook_url: str | None = None
    # How long a simulated authorization holds funds (Stripe's seven days for cards).
    simulated_authorization_ttl_seconds: int = Field(default=604800, ge=1)
    webhook_retention_days: int = Field(default=30, ge=1)
    outbox_retention_days: int = Field(default=7, ge=1)
    database_pool_size: int = Field(default=20, ge=1)
    queue_namespace: str = "payments"
    graphql_max_depth: int = Field(default=10, ge=1)
    graphql_max_tokens: int = Field(default=1000, ge=1)
    graphql_max_aliases: int = Field(default=15, ge=0)
    graphql_max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # A request body still arriving this long after the request began is cut off (408).
    http_read_timeout_seconds: float = Field(default=10.0, gt=0)
    # A directory holding GraphiQL's assets (deploy/graphiql/fetch-assets.sh): the page
    # then loads them from this server, not from unpkg (offline, behind a firewall).
    graphiql_assets_dir: Path | None = None
    # Comma-separated origins allowed to call the API from a browser (none by default).
    cors_allowed_origins: str = ""
    # Dramatiq's Prometheus exporter in `payments worker` (off unless a port is set).
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # The outbox relay sweeps this often even without a NOTIFY; a delivery whose message
    # has not been seen for this long is enqueued again (e.g. after a Redis restart).
    relay_interval_ms: int = Field(default=1000, ge=10)
    delivery_stranded_after_seconds: int = Field(default=60, ge=1)
    # Event endpoints: how long a rotated-out secret still signs, how many dead-lettered
    # deliveries in a row disable an endpoint, and whether production may target private hosts.
    endpoint_secret_grace_seconds: int = Field(default=86400, ge=0)
    endpoint_disable_after_failures: int = Field(default=10, ge=1)
    endpoint_allow_private_networks: bool = False
    # JSON object of per-currency minimum charge amounts in minor units, e.g. {"USD": 50}.
    charge_amount_minimums: dict[str, int] = Field(default_factory=dict)
    charge_amount_maximum: int | None = Field(default=None, ge=1)
    # JSON object of per-currency maximums in minor units, overriding CHARGE_AMOUNT_MAXIMUM.
    charge_amount_maximums: dict[str, int] = Field(default_factory=dict)
    # Live status over WS /graphql: bounds per connection and principal, keep-alive pings,
    # and how many versions a subscriber may be owed: past it each payment's latest is kept,
    # and one more payment cuts the subscriber off as too slow.
    live_max_subscriptions_per_connection: int = Field(default=10, ge=1)
    live_max_connections_per_principal: int = Field(default=20, ge=1)
    # Sockets that have not authenticated yet, per process: past this, new ones are refused.
    live_max_unauthenticated_connections: int = Field(default=256, ge=1)
    # ... and per client address (an IPv6 /64), so one address cannot hold all of them.
    live_max_unauthenticated_per_address: int = Field(default=8, ge=1)
    live_keepalive_seconds: float = Field(default=15.0, gt=0)
    live_queue_size: int = Field(default=100, ge=1)
    # Comma-separated host:port of Kafka brokers: every event is also published there.
    kafka_bootstrap_servers: str | None = None
    kafka_topic: str = Field(default="payments.events", min_length=1, max_length=249)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("rate_limit_default", "rate_limit_charge", "rate_limit_anonymous")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        if value.strip().lower() != "off":
            parse_rate_limit(value)  # its ValueError names the notation it could not read
        return value

    @field_validator("charge_amount_minimums", "charge_amount_maximums")
    @classmethod
    def _check_amounts_by_currency(cls, value: dict[str, int]) -> dict[str, int]:
        if any(amount < 1 for amount in value.values()):
            raise ValueError("amounts are positive integers in minor units")
        try:
            return {normalize_currency(code): amount for code, amount in value.items()}
        except InvalidCurrency as error:
            raise ValueError(error.message) from None

    @field_validator("paypal_cert_ca_file")
    @classmethod
    def _check_trust_anchors(cls, value: Path | None) -> Path | None:
        if value is not None and b"-----BEGIN CERTIFICATE-----" not in value.read_bytes():
            raise ValueError("must hold PEM certificates (the trust anchors)")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and urlsplit(value).scheme not in {"postgres", "postgresql", "sqlite"}:
            raise ValueError("must start with postgres:// or sqlite://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("must start with redis://")
        return value

    @property
    def gateway_name(self) -> GatewayName:
        if self.gateway is not None:
            return self.gateway
        return GatewayName.STRIPE if self.stripe_api_key else GatewayName.SIMULATED

    @property
    def kafka_enabled(self) -> bool:
        """Whether events are also published to Kafka (KAFKA_BOOTSTRAP_SERVERS is set)."""
        return bool(self.kafka_bootstrap_servers and self.kafka_bootstrap_servers.strip())

    @property
    def webhook_secrets(self) -> list[str]:
        raw = self.stripe_webhook_secret.get_secret_value() if self.stripe_webhook_secret else ""
        return [part.strip() for part in raw.split(",") if part.strip()]

    @property
    def paypal_credentials(self) -> tuple[str, str] | None:
        """PayPal's client id and secret, or None where the simulated PayPal moves the money."""
        if not (self.paypal_client_id and self.paypal_client_secret):
            return None
        return self.paypal_client_id, self.paypal_client_secret.get_secret_value()

    @property
    def paypal_certificate_hosts(self) -> frozenset[str]:
        return frozenset(
            entry.strip().lower() for entry in self.paypal_cert_hosts.split(",") if entry.strip()
        )

    @property
    def configured_endpoints(self) -> dict[str, str]:
        """The event endpoints the environment defines, by description (order, notification...)."""
        named = {
            "order": self.order_service_url,
            "notification": self.notification_service_url,
            "inventory": self.inventory_service_url,
        }
        return {name: url for name, url in named.items() if url}

    @property
    def cors_origins(self) -> list[str]:
        return [origin.strip() for origin in self.cors_allowed_origins.split(",") if origin.strip()]

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


def load_settings(*, dev: bool = False, **overrides: object) -> Settings:
    """Read the environment; `dev` fills the embedded defaults of `payments dev`.

    Raises `SettingsError` with one line naming the offending variable.
    """
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    if dev:
        settings = _with_dev_defaults(settings)
    _check_required(settings)
    return settings


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    variable = str(error["loc"][0]).upper() if error["loc"] else "configuration"
    return f"{variable}: {error['msg']}"


def _with_dev_defaults(settings: Settings) -> Settings:
    defaults: dict[str, object] = {
        "database_url": settings.database_url or f"sqlite://{DEV_DATABASE_FILE}",
        "stripe_webhook_secret": settings.stripe_webhook_secret or SecretStr(DEV_WEBHOOK_SECRET),
        "outbound_webhook_secret": settings.outbound_webhook_secret
        or SecretStr("whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()),
        "jwt_secret": settings.jwt_secret
        or (None if settings.jwt_jwks_url else SecretStr(DEV_JWT_SECRET)),
    }
    return settings.model_copy(update=defaults)


def _check_required(settings: Settings) -> None:
    if not settings.database_url:
        raise SettingsError("DATABASE_URL: required (postgres://... or sqlite://...)")
    if not settings.jwt_secret and not settings.jwt_jwks_url:
        raise SettingsError("JWT_SECRET: required (or JWT_JWKS_URL)")
    if not settings.webhook_secrets:
        raise SettingsError("STRIPE_WEBHOOK_SECRET: required outside `payments dev`")
    if settings.configured_endpoints and not settings.outbound_webhook_secret:
        raise SettingsError("OUTBOUND_WEBHOOK_SECRET: required when a consumer URL is set")
    if settings.gateway_name is GatewayName.STRIPE and not settings.stripe_api_key:
        raise SettingsError("STRIPE_API_KEY: required when GATEWAY=stripe")
    if settings.paypal_credentials and not settings.paypal_webhook_id:
        raise SettingsError("PAYPAL_WEBHOOK_ID: required with PAYPAL_CLIENT_ID/SECRET")
    if settings.paypal_credentials and not settings.redis_url:
        raise SettingsError("REDIS_URL: required with PayPal (its token is shared there)")
    if settings.is_production and settings.jwt_secret is not None:
        _check_production_jwt_secret(settings.jwt_secret.get_secret_value())


def _check_production_jwt_secret(secret: str) -> None:
    # Anyone who has read this module could sign tokens for the development secret.
    if secret == DEV_JWT_SECRET:
        raise SettingsError("JWT_SECRET: the development secret cannot be used in production")
    if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
        raise SettingsError(
            f"JWT_SECRET: at least {MIN_JWT_SECRET_BYTES} bytes in production (use random bytes)"
        )
