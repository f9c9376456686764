"""A customer's row and its twin at the gateway, made lazily and idempotently."""

import hashlib

from tortoise.backends.base.client import BaseDBAsyncClient

from models.customer import Customer
from payments.customers.repository import find_customer, set_provider_customer_id
from payments.service_config import ServiceConfig
from payments.shared.errors import CustomerNotFound
from payments.shared.input_rules import could_be_id


def gateway_key(purpose: str, *our_ids: str) -> str:
    """A gateway idempotency key derived from our own ids (Stripe allows 255 characters)."""
    return f"{purpose}-{hashlib.sha256(':'.join(our_ids).encode()).hexdigest()}"


async def existing_customer(customer_id: str) -> Customer:
    """The customer, or CustomerNotFound (also for ids no row could have)."""
    customer = await find_customer(customer_id) if could_be_id(customer_id) else None
    if customer is None:
        raise CustomerNotFound()
    return customer


async def lock_customer(customer_id: str, connection: BaseDBAsyncClient) -> Customer:
    """The customer's row, locked until the transaction ends: it serialises default changes."""
    customer = await find_customer(customer_id, connection, lock=True)
    if customer is None:
        raise CustomerNotFound()
    return customer


async def with_gateway_customer(customer: Customer, config: ServiceConfig) -> Customer:
    """The customer with its gateway twin, creating it if a crash or outage left none.

    No lock is held across the gateway call; the key derived from our id makes a
    concurrent or repeated creation return the same gateway customer.
    """
    if customer.provider_customer_id is not None:
        return customer
    provider_id = await config.gateway.customers.create_customer(
        customer.id, gateway_key("customer", customer.id)
    )
    await set_provider_customer_id(customer.id, provider_id)
    customer.provider_customer_id = provider_id
    return customer


def provider_customer_id(customer: Customer) -> str:
    assert customer.provider_customer_id is not None  # with_gateway_customer ran first
    return customer.provider_customer_id
