"""What the money-moving services need besides the database: the rails and policies."""

from dataclasses import dataclass, field

from models.enums import PaymentMethodType
from payments.gateways.base import BankTransferGateway, Gateway
from payments.idempotency.keys import KeyPolicy
from payments.shared.errors import PaymentMethodTypeUnsupported
from payments.shared.money import DEFAULT_LIMITS, AmountLimits


@dataclass(frozen=True)
class ServiceConfig:
    # The card rail (GATEWAY); customers and saved methods live there too.
    gateway: Gateway
    keys: KeyPolicy = field(default_factory=KeyPolicy)
    limits: AmountLimits = DEFAULT_LIMITS
    # The other rails, where this process has one.
    paypal: Gateway | None = None
    bank_transfer: BankTransferGateway | None = None

    def gateway_for(self, method_type: PaymentMethodType) -> Gateway:
        """The gateway moving `method_type`'s money; PaymentMethodTypeUnsupported if none."""
        rails = {
            PaymentMethodType.CARD: self.gateway,
            PaymentMethodType.PAYPAL: self.paypal,
            PaymentMethodType.BANK_TRANSFER: self.bank_transfer,
        }
        gateway = rails[method_type]
        if gateway is None:
            raise PaymentMethodTypeUnsupported(f"{method_type.value} payments are not offered.")
        return gateway
