"""Saved payment methods: attach once per key, choose the default, detach, SetupIntents."""

from dataclasses import asdict, dataclass, replace

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.customer import Customer, PaymentMethod
from models.enums import Operation
from models.idempotency import IdempotencyKey
from payments.customers.accounts import (
    existing_customer,
    gateway_key,
    lock_customer,
    provider_customer_id,
    with_gateway_customer,
)
from payments.customers.defaults import make_default, promote_newest, sync_default
from payments.customers.repository import (
    default_method,
    delete_method,
    find_method,
    insert_method,
    method_by_provider_id,
)
from payments.customers.rules import check_method_id, owner_of
from payments.gateways.base import SavedMethod
from payments.idempotency.keyed_call import KeyClaim, KeyedCall, hold_key, run_keyed
from payments.idempotency.keys import (
    check_key,
    complete_alone,
    complete_key,
    fingerprint,
    store_error,
)
from payments.service_config import ServiceConfig
from payments.shared.auth import Principal, Scope
from payments.shared.errors import CustomerNotFound, PaymentMethodNotFound
from payments.shared.input_rules import could_be_id

# The customer with its gateway twin, and the method the gateway attached to it.
Attached = tuple[Customer, SavedMethod]


@dataclass(frozen=True)
class MethodInput:
    customer_id: str | None
    payment_method_id: str
    set_as_default: bool = False


async def attach(
    principal: Principal, command: MethodInput, idempotency_key: str, config: ServiceConfig
) -> tuple[PaymentMethod | None, Customer]:
    """Save a gateway payment method for the customer, once per key; the first is default.

    Attaching one method again finds its row. Raises CustomerNotFound or
    PaymentMethodNotFound (unknown, or another customer's: nothing changes; both stored
    on the key), IdempotencyKeyReused / InUse, or GatewayUnavailable (retry the key).
    """
    principal.require(Scope.WRITE)
    check_key(idempotency_key)
    check_method_id(command.payment_method_id)
    command = replace(command, customer_id=owner_of(principal, command.customer_id))
    owner = command.customer_id or principal.sub
    claim = KeyClaim(
        principal.sub,
        Operation.ATTACH_PAYMENT_METHOD,
        idempotency_key,
        fingerprint(asdict(command)),
        config.keys,
    )

    async def replay(key: IdempotencyKey) -> tuple[PaymentMethod | None, Customer]:
        method = await find_method(key.resource_id) if key.resource_id else None
        return method, await existing_customer(owner)

    async def commit(
        key: IdempotencyKey, held: IdempotencyKey, attached: Attached | None
    ) -> tuple[PaymentMethod | None, Customer]:
        assert attached is not None  # nothing is held, so nothing is settled without the call
        customer, saved = attached
        method, default_changed = await _save(key, customer, saved, command.set_as_default)
        if default_changed:
            await sync_default(customer, config)
        return method, customer

    steps = KeyedCall(
        replay=replay,
        hold=hold_key,
        call=lambda key: _attach_at_gateway(owner, command.payment_method_id, config),
        commit=commit,
        refusals=(CustomerNotFound, PaymentMethodNotFound),
    )
    return await run_keyed(claim, steps)


async def _attach_at_gateway(owner: str, payment_method_id: str, config: ServiceConfig) -> Attached:
    customer = await with_gateway_customer(await existing_customer(owner), config)
    await _refuse_foreign(owner, payment_method_id)
    saved = await config.gateway.customers.attach_payment_method(
        provider_customer_id(customer),
        payment_method_id,
        gateway_key("attach", owner, payment_method_id),
    )
    return customer, saved


async def _refuse_foreign(owner: str, provider_method_id: str) -> None:
    method = await method_by_provider_id(provider_method_id)
    if method is not None and method.customer_id != owner:
        raise PaymentMethodNotFound()


async def _save(
    key: IdempotencyKey, customer: Customer, saved: SavedMethod, set_as_default: bool
) -> tuple[PaymentMethod, bool]:
    """The method's row (new, or the one attached before) and whether the default moved."""
    try:
        async with in_transaction() as connection:
            await lock_customer(customer.id, connection)
            method = await _row_for(customer.id, saved, connection)
            moved = False
            if set_as_default or await default_method(customer.id, connection) is None:
                moved = await make_default(method, connection)
            await complete_key(key, connection, resource_id=method.id)
    except (PaymentMethodNotFound, IntegrityError):
        # Another customer's method (the unique gateway id decided): nothing was written.
        await store_error(key, PaymentMethodNotFound())
    return method, moved


async def _row_for(
    customer_id: str, saved: SavedMethod, connection: BaseDBAsyncClient
) -> PaymentMethod:
    found = await method_by_provider_id(saved.provider_payment_method_id, connection)
    if found is None:
        return await insert_method(customer_id, saved, connection)
    if found.customer_id != customer_id:
        raise PaymentMethodNotFound()
    return found


async def set_default(
    principal: Principal, command: MethodInput, config: ServiceConfig
) -> Customer:
    """Make one of the customer's saved methods (our id) its default."""
    principal.require(Scope.WRITE)
    owner = owner_of(principal, command.customer_id)
    async with in_transaction() as connection:
        customer = await lock_customer(owner, connection)
        method = await _owned(owner, command.payment_method_id, connection)
        moved = await make_default(method, connection)
    if moved:
        await sync_default(customer, config)
    return customer


async def detach(principal: Principal, command: MethodInput, config: ServiceConfig) -> Customer:
    """Detach a saved method at the gateway, then forget it; the newest left becomes default.

    The gateway goes first and without a lock: once it has detached the method, no charge
    can use it there, whatever a concurrent charge read before our rows changed.
    """
    principal.require(Scope.WRITE)
    owner = owner_of(principal, command.customer_id)
    method = await _owned(owner, command.payment_method_id)
    await config.gateway.customers.detach_payment_method(method.provider_payment_method_id)
    async with in_transaction() as connection:
        customer = await lock_customer(owner, connection)
        current = await find_method(method.id, connection)
        if current is not None:
            await delete_method(current, connection)
            if current.is_default:
                await promote_newest(owner, connection)
    if current is not None and current.is_default:
        await sync_default(customer, config)
    return customer


async def _owned(
    owner: str, method_id: str, connection: BaseDBAsyncClient | None = None
) -> PaymentMethod:
    """The owner's saved method by our id, or PaymentMethodNotFound (also another's)."""
    method = await find_method(method_id, connection) if could_be_id(method_id) else None
    if method is None or method.customer_id != owner:
        raise PaymentMethodNotFound()
    return method


async def create_setup_intent(
    principal: Principal, customer_id: str | None, idempotency_key: str, config: ServiceConfig
) -> str:
    """A SetupIntent's client secret, for the frontend to collect a card for off-session use.

    A replay asks the gateway again with the same derived key, which answers with the
    same SetupIntent; its secret is never stored here.
    """
    principal.require(Scope.WRITE)
    check_key(idempotency_key)
    owner = owner_of(principal, customer_id)
    claim = KeyClaim(
        principal.sub,
        Operation.SETUP_INTENT,
        idempotency_key,
        fingerprint({"customer_id": owner}),
        config.keys,
    )

    async def secret(key: IdempotencyKey) -> str:
        customer = await with_gateway_customer(await existing_customer(owner), config)
        return await config.gateway.customers.create_setup_intent(
            provider_customer_id(customer), gateway_key("setup", owner, str(key.id))
        )

    async def commit(key: IdempotencyKey, held: IdempotencyKey, answer: str | None) -> str:
        assert answer is not None  # nothing is held, so nothing is settled without the call
        await complete_alone(key)
        return answer

    steps = KeyedCall(
        replay=secret, hold=hold_key, call=secret, commit=commit, refusals=(CustomerNotFound,)
    )
    return await run_keyed(claim, steps)
