"""What the money-moving services need besides the database: gateway and policies."""

from dataclasses import dataclass, field

from payments.gateways.base import Gateway
from payments.idempotency.keys import KeyPolicy
from payments.shared.money import DEFAULT_LIMITS, AmountLimits


@dataclass(frozen=True)
class ServiceConfig:
    gateway: Gateway
    keys: KeyPolicy = field(default_factory=KeyPolicy)
    limits: AmountLimits = DEFAULT_LIMITS
