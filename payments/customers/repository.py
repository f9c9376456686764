"""The customers and payment_methods tables' hand-written queries."""

from typing import Any

from payments.shared.rows import fetch_rows

_SAVED = """SELECT m.provider_payment_method_id, c.provider_customer_id
  FROM payment_methods m JOIN customers c ON c.id = m.customer_id
 WHERE m.customer_id = $1 AND (m.id = $2 OR m.provider_payment_method_id = $2)"""
_DEFAULT = """SELECT m.provider_payment_method_id, c.provider_customer_id
  FROM payment_methods m JOIN customers c ON c.id = m.customer_id
 WHERE m.customer_id = $1 AND m.is_default"""


async def saved_method_ids(customer_id: str, payment_method_id: str) -> list[dict[str, Any]]:
    """The gateway ids of a customer's saved method, named by our id or the gateway's."""
    return await fetch_rows(_SAVED, [customer_id, payment_method_id])


async def default_method_ids(customer_id: str) -> list[dict[str, Any]]:
    """The gateway ids of a customer's default method (no rows: none, or no customer)."""
    return await fetch_rows(_DEFAULT, [customer_id])
