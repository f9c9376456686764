"""Customers' invariants live in the database after `payments migrate` (0020, 0021)."""

import uuid

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError

from models.customer import Customer, PaymentMethod


async def _index_definitions() -> dict[str, str]:
    rows = await connections.get("default").execute_query_dict(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    )
    return {row["indexname"]: row["indexdef"] for row in rows}


async def _customer() -> Customer:
    suffix = uuid.uuid4().hex[:10]
    return await Customer.create(id=f"cus_{suffix}", email=f"{suffix}@example.com", gateway="sim")


async def test_email_index_is_unique_on_lower_email(database_url):
    """Migration 0020 made a unique index on lower(email)."""
    definition = (await _index_definitions())["customers_email_lower"]
    assert "UNIQUE" in definition and "lower((email)" in definition


async def test_one_default_index_is_partial_and_unique(database_url):
    """Migration 0021 made a unique index on customer_id limited to default methods."""
    definition = (await _index_definitions())["payment_methods_one_default"]
    assert "UNIQUE" in definition and "(customer_id)" in definition and "is_default" in definition


async def test_emails_differing_in_case_are_refused(database_url):
    """A second customer whose email differs only in case breaks the unique index."""
    first = await _customer()
    with pytest.raises(IntegrityError):
        await Customer.create(id=f"{first.id}-2", email=first.email.upper(), gateway="sim")


async def test_a_second_default_method_is_refused(database_url):
    """Two default methods of one customer break the partial unique index."""
    customer = await _customer()
    await PaymentMethod.create(
        customer=customer,
        provider_payment_method_id=f"pm_{uuid.uuid4().hex}",
        type="card",
        is_default=True,
    )
    with pytest.raises(IntegrityError):
        await PaymentMethod.create(
            customer=customer,
            provider_payment_method_id=f"pm_{uuid.uuid4().hex}",
            type="card",
            is_default=True,
        )
