"""Which saved method is the default: changed only under the customer's row lock."""

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient

from models.customer import Customer, PaymentMethod
from payments.customers.repository import default_method, move_default, newest_method
from payments.service_config import ServiceConfig
from payments.shared.errors import GatewayUnavailable

log = structlog.get_logger(__name__)


async def make_default(method: PaymentMethod, connection: BaseDBAsyncClient) -> bool:
    """Make `method` its customer's only default; False when it already was.

    The caller holds the customer's row lock.
    """
    if method.is_default:
        return False
    await move_default(method, connection)
    return True


async def promote_newest(customer_id: str, connection: BaseDBAsyncClient) -> None:
    """After the default went: the most recently attached remaining method, if any."""
    newest = await newest_method(customer_id, connection)
    if newest is not None:
        await make_default(newest, connection)


async def sync_default(customer: Customer, config: ServiceConfig) -> None:
    """Tell the gateway the default (Stripe: invoice_settings.default_payment_method).

    Best effort, after our commit: charges always name their method, so the gateway's
    default only serves its own invoices; the next change sends it again.
    """
    if customer.provider_customer_id is None:
        return
    default = await default_method(customer.id)
    provider_method = default.provider_payment_method_id if default else None
    try:
        await config.gateway.customers.set_default_payment_method(
            customer.provider_customer_id, provider_method
        )
    except GatewayUnavailable:
        log.warning("gateway_default_not_synced", customer_id=customer.id)
