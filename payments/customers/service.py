"""Customers: create once per key, update, and the owner-scoped reads."""

from dataclasses import asdict, replace

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.customer import Customer, PaymentMethod
from models.enums import Operation
from models.idempotency import IdempotencyKey
from payments.customers.accounts import existing_customer, with_gateway_customer
from payments.customers.repository import (
    customer_by_email,
    find_customer,
    insert_customer,
    methods_of,
    save_customer,
)
from payments.customers.rules import (
    MAX_EMAIL_LENGTH,
    CustomerInput,
    owner_of,
    validate_customer,
)
from payments.idempotency.keyed_call import KeyClaim, KeyedCall, run_keyed
from payments.idempotency.keys import (
    check_key,
    complete_alone,
    fingerprint,
    name_resource,
    store_error,
)
from payments.service_config import ServiceConfig
from payments.shared.auth import Principal, Scope
from payments.shared.errors import CustomerExists
from payments.shared.input_rules import could_be_id, is_storable

# Our customer ids are up to 255 characters, more than a key's resource_id holds: the key
# records that it created the customer, whose id is in the fingerprinted input.
CREATED = "customer"


async def create_customer(
    principal: Principal, command: CustomerInput, idempotency_key: str, config: ServiceConfig
) -> Customer:
    """Create the customer here and at the gateway, once per idempotency key.

    Raises PaymentErrors (invalid input, nothing written), CustomerNotFound (a non-admin
    naming another customer), CustomerExists (that id or email is taken; stored on the
    key), IdempotencyKeyReused / InUse, or GatewayUnavailable (retry the key to resume).
    """
    principal.require(Scope.WRITE)
    check_key(idempotency_key)
    command = replace(command, customer_id=owner_of(principal, command.customer_id))
    command = validate_customer(command)
    claim = KeyClaim(
        principal.sub,
        Operation.CREATE_CUSTOMER,
        idempotency_key,
        fingerprint(asdict(command)),
        config.keys,
    )
    steps = KeyedCall(
        replay=lambda key: existing_customer(command.customer_id),
        hold=lambda key: _customer_for(key, command, config),
        call=lambda customer: with_gateway_customer(customer, config),
        commit=_complete,
    )
    return await run_keyed(claim, steps)


async def _complete(key: IdempotencyKey, inserted: Customer, twinned: Customer | None) -> Customer:
    await complete_alone(key)
    return twinned or inserted


async def _customer_for(
    key: IdempotencyKey, command: CustomerInput, config: ServiceConfig
) -> Customer:
    """The key's customer: inserted now, or the one a crashed or failed request left."""
    if key.resource_id == CREATED:
        return await existing_customer(command.customer_id)
    try:
        async with in_transaction() as connection:
            customer = await insert_customer(
                command.customer_id, command.email, command.name, config.gateway.name, connection
            )
            await name_resource(key, CREATED, connection)
    except IntegrityError:
        # The unique id or lower(email) index decided: another request has that customer.
        await store_error(key, CustomerExists())
    return customer


async def update_customer(principal: Principal, command: CustomerInput) -> Customer:
    """Change the email and/or name; CustomerExists when the email is another's."""
    principal.require(Scope.WRITE)
    command = validate_customer(
        replace(command, customer_id=owner_of(principal, command.customer_id))
    )
    customer = await existing_customer(command.customer_id)
    changes = {
        name: value
        for name, value in (("email", command.email), ("name", command.name))
        if value is not None
    }
    try:
        await save_customer(customer, changes)
    except IntegrityError:
        raise CustomerExists() from None
    return customer


async def get_customer(principal: Principal, customer_id: str) -> Customer | None:
    """The customer if the principal may see it; otherwise None (never 'forbidden')."""
    principal.require(Scope.READ)
    if not could_be_id(customer_id) or not principal.may_see(customer_id):
        return None
    return await find_customer(customer_id)


async def find_by_email(principal: Principal, email: str) -> Customer | None:
    """An admin's case-insensitive look-up by email."""
    principal.require(Scope.READ, Scope.ADMIN)
    if not is_storable(email) or len(email) > MAX_EMAIL_LENGTH:
        return None
    return await customer_by_email(email)


async def payment_methods(customer_id: str) -> list[PaymentMethod]:
    """A customer's saved methods, most recently attached first."""
    return await methods_of(customer_id)
