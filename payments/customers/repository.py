"""The customers and payment_methods tables' queries, raw and ORM."""

from dataclasses import asdict
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models.customer import Customer, PaymentMethod
from payments.gateways.base import SavedMethod
from payments.shared.rows import fetch_models, fetch_rows, select_one, update_where

_SAVED = """SELECT m.provider_payment_method_id, c.provider_customer_id
  FROM payment_methods m JOIN customers c ON c.id = m.customer_id
 WHERE m.customer_id = $1 AND (m.id = $2 OR m.provider_payment_method_id = $2)"""
_DEFAULT = """SELECT m.provider_payment_method_id, c.provider_customer_id
  FROM payment_methods m JOIN customers c ON c.id = m.customer_id
 WHERE m.customer_id = $1 AND m.is_default"""
_BY_EMAIL = "SELECT * FROM customers WHERE lower(email) = lower($1)"


async def find_customer(
    customer_id: str, connection: BaseDBAsyncClient | None = None, *, lock: bool = False
) -> Customer | None:
    """The customer's row, locked until the transaction ends with `lock`."""
    return await select_one(Customer, connection, for_update=lock, id=customer_id)


async def customer_by_email(email: str) -> Customer | None:
    """The customer whose email matches, ignoring case (a unique index on lower(email))."""
    rows = await fetch_models(Customer, _BY_EMAIL, [email])
    return rows[0] if rows else None


async def insert_customer(
    customer_id: str,
    email: str | None,
    name: str | None,
    gateway: str,
    connection: BaseDBAsyncClient,
) -> Customer:
    """A new customer row; IntegrityError when its id or email is taken."""
    return await Customer.create(
        id=customer_id, email=email, name=name, gateway=gateway, using_db=connection
    )


async def save_customer(customer: Customer, changes: dict[str, Any]) -> None:
    """Set and write `changes`; IntegrityError when the email is another customer's."""
    for name, value in changes.items():
        setattr(customer, name, value)
    await customer.save(update_fields=[*changes, "updated_at"])


async def set_provider_customer_id(customer_id: str, provider_customer_id: str) -> None:
    """Remember the customer's twin at the gateway."""
    await update_where(Customer, {"provider_customer_id": provider_customer_id}, id=customer_id)


async def find_method(
    method_id: str, connection: BaseDBAsyncClient | None = None
) -> PaymentMethod | None:
    """A saved method by our id."""
    return await select_one(PaymentMethod, connection, id=method_id)


async def method_by_provider_id(
    provider_method_id: str, connection: BaseDBAsyncClient | None = None
) -> PaymentMethod | None:
    """A saved method by the gateway's id (unique: a method belongs to one customer)."""
    return await select_one(
        PaymentMethod, connection, provider_payment_method_id=provider_method_id
    )


async def insert_method(
    customer_id: str, saved: SavedMethod, connection: BaseDBAsyncClient
) -> PaymentMethod:
    """A new saved method row; IntegrityError when the gateway's id is already saved."""
    return await PaymentMethod.create(customer_id=customer_id, **asdict(saved), using_db=connection)


async def delete_method(method: PaymentMethod, connection: BaseDBAsyncClient) -> None:
    await method.delete(using_db=connection)


async def methods_of(customer_id: str) -> list[PaymentMethod]:
    """A customer's saved methods, most recently attached first."""
    return await PaymentMethod.filter(customer_id=customer_id).order_by("-created_at", "-id")


async def newest_method(customer_id: str, connection: BaseDBAsyncClient) -> PaymentMethod | None:
    """The customer's most recently attached method."""
    query = PaymentMethod.filter(customer_id=customer_id).order_by("-created_at", "-id")
    return await query.using_db(connection).first()


async def default_method(
    customer_id: str, connection: BaseDBAsyncClient | None = None
) -> PaymentMethod | None:
    """The customer's default method, if one is set."""
    query = PaymentMethod.filter(customer_id=customer_id, is_default=True)
    return await (query.using_db(connection) if connection else query).first()


async def move_default(method: PaymentMethod, connection: BaseDBAsyncClient) -> None:
    """Make `method` the only default of its customer.

    The old default is cleared first, so the partial unique index (one default per
    customer) holds at every statement.
    """
    others = PaymentMethod.filter(customer_id=method.customer_id, is_default=True)
    await others.using_db(connection).update(is_default=False)
    method.is_default = True
    await method.save(using_db=connection, update_fields=["is_default"])


async def saved_method_ids(customer_id: str, payment_method_id: str) -> list[dict[str, Any]]:
    """The gateway ids of a customer's saved method, named by our id or the gateway's."""
    return await fetch_rows(_SAVED, [customer_id, payment_method_id])


async def default_method_ids(customer_id: str) -> list[dict[str, Any]]:
    """The gateway ids of a customer's default method (no rows: none, or no customer)."""
    return await fetch_rows(_DEFAULT, [customer_id])
