"""Which saved method is the default: changed only under the customer's row lock."""

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient

from models.customer import Customer, PaymentMethod
from payments.service_config import ServiceConfig
from payments.shared.errors import GatewayUnavailable

log = structlog.get_logger(__name__)


async def make_default(method: PaymentMethod, connection: BaseDBAsyncClient) -> bool:
    """Make `method` its customer's only default; False when it already was.

    The caller holds the customer's row lock. The old default is cleared first, so the
    partial unique index (one default per customer) holds at every statement.
    """
    if method.is_default:
        return False
    others = PaymentMethod.filter(customer_id=method.customer_id, is_default=True)
    await others.using_db(connection).update(is_default=False)
    method.is_default = True
    await method.save(using_db=connection, update_fields=["is_default"])
    return True


async def promote_newest(customer_id: str, connection: BaseDBAsyncClient) -> None:
    """After the default went: the most recently attached remaining method, if any."""
    query = PaymentMethod.filter(customer_id=customer_id).order_by("-created_at", "-id")
    newest = await query.using_db(connection).first()
    if newest is not None:
        await make_default(newest, connection)


async def sync_default(customer: Customer, config: ServiceConfig) -> None:
    """Tell the gateway the default (Stripe: invoice_settings.default_payment_method).

    Best effort, after our commit: charges always name their method, so the gateway's
    default only serves its own invoices; the next change sends it again.
    """
    if customer.provider_customer_id is None:
        return
    default = await PaymentMethod.get_or_none(customer_id=customer.id, is_default=True)
    provider_method = default.provider_payment_method_id if default else None
    try:
        await config.gateway.customers.set_default_payment_method(
            customer.provider_customer_id, provider_method
        )
    except GatewayUnavailable:
        log.warning("gateway_default_not_synced", customer_id=customer.id)
