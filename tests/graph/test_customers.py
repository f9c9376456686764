"""Customers over real HTTP on PostgreSQL: create, replay, owner scoping, look-ups, updates."""

import uuid

import pytest

from models.customer import Customer
from payments.shared.auth import ALL_SCOPES
from tests.graph.customer_calls import call, codes, mutate, new_customer, new_email
from tests.support import error_codes, graphql, new_subject, token


async def test_create_then_me_and_a_replay_returns_the_same_customer(http):
    """The createCustomer makes the caller's customer (id = sub); the same key replays it."""
    sub, email, key = new_subject(), new_email(), uuid.uuid4().hex
    first = await mutate(http, "createCustomer", sub, key, email=email, name="Jenny")
    again = await mutate(http, "createCustomer", sub, key, email=email, name="Jenny")
    me = await call(http, "me", token(sub))
    assert first["errors"] == [] and first["customer"]["id"] == sub
    assert again == first
    assert me["email"] == email and me["paymentMethods"] == []


async def test_a_second_customer_with_one_email_in_another_case_exists(http):
    """Emails are unique case-insensitively: CUSTOMER_EXISTS, and nothing is created."""
    email, other = new_email(), new_subject()
    assert (await mutate(http, "createCustomer", new_subject(), email=email))["errors"] == []
    again = await mutate(http, "createCustomer", other, email=email.upper())
    assert codes(again) == [("CUSTOMER_EXISTS", "email")]
    assert await Customer.get_or_none(id=other) is None


async def test_a_sub_has_one_customer(http):
    """A second createCustomer for one sub, with a new key, is CUSTOMER_EXISTS."""
    sub = new_subject()
    await new_customer(http, sub)
    again = await mutate(http, "createCustomer", sub, email=new_email())
    assert [code for code, _ in codes(again)] == ["CUSTOMER_EXISTS"]


async def test_another_customer_reads_as_null_and_admins_see_it(http):
    """The customer(id) of someone else is null for a customer and visible to an admin."""
    owner = new_subject()
    await new_customer(http, owner)
    stranger = await call(http, "customer", token(new_subject()), id=owner)
    admin = await call(http, "customer", token(new_subject(), ALL_SCOPES), id=owner)
    assert stranger is None
    assert admin["id"] == owner


async def test_a_customer_cannot_name_another_customer(http):
    """Inputs name a customerId for admins only: others get CUSTOMER_NOT_FOUND."""
    victim = new_subject()
    await new_customer(http, victim)
    payload = await mutate(http, "updateCustomer", new_subject(), customerId=victim, name="X")
    created = await mutate(http, "createCustomer", new_subject(), customerId=new_subject(),
                           email=new_email())  # fmt: skip
    assert codes(payload) == [("CUSTOMER_NOT_FOUND", "customerId")]
    assert codes(created) == [("CUSTOMER_NOT_FOUND", "customerId")]


async def test_customer_by_email_is_for_admins_and_ignores_case(http):
    """The customerByEmail finds any case of the email for an admin; others get FORBIDDEN."""
    sub, email = new_subject(), new_email()
    assert (await mutate(http, "createCustomer", sub, email=email))["errors"] == []
    admin = token(new_subject(), ALL_SCOPES)
    found = await call(http, "customerByEmail", admin, email=email.swapcase())
    refused = await graphql(
        http, "query($e: String!) { customerByEmail(email: $e) { id } }", {"e": email},
        bearer=token(sub),
    )  # fmt: skip
    assert found["id"] == sub
    assert error_codes(refused) == ["FORBIDDEN"]


async def test_admins_create_customers_by_id(http):
    """An admin (a BFF) creates a customer for any customerId."""
    customer_id = new_subject()
    payload = await call(
        http, "createCustomer", token(new_subject(), ALL_SCOPES),
        input={"customerId": customer_id, "email": new_email()}, key=uuid.uuid4().hex,
    )  # fmt: skip
    assert payload["customer"]["id"] == customer_id


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": f"{'x' * 250}@example.com"}, "email"),
        ({"email": "jenny\x00@example.com"}, "email"),
        ({"email": "ok@example.com", "name": "Jen\x00ny"}, "name"),
        ({"email": "ok@example.com", "name": "x" * 256}, "name"),
        ({"email": "ok@example.com", "name": "card 4242 4242 4242 4242"}, "name"),
    ],
)
async def test_bad_input_is_a_validation_error_naming_the_field(http, fields, field):
    """Malformed or over-long emails and NUL or card numbers in names write nothing."""
    sub = new_subject()
    payload = await mutate(http, "createCustomer", sub, **fields)
    assert codes(payload) == [("VALIDATION_ERROR", field)]
    assert await Customer.get_or_none(id=sub) is None


async def test_update_changes_email_and_name_but_not_to_anothers_email(http):
    """The updateCustomer changes fields; an email another customer has is CUSTOMER_EXISTS."""
    sub, taken, fresh = new_subject(), new_email(), new_email()
    assert (await mutate(http, "createCustomer", new_subject(), email=taken))["errors"] == []
    await new_customer(http, sub)
    updated = await mutate(http, "updateCustomer", sub, email=fresh, name="Jenny R.")
    clash = await mutate(http, "updateCustomer", sub, email=taken.lower())
    assert (updated["customer"]["email"], updated["customer"]["name"]) == (fresh, "Jenny R.")
    assert [code for code, _ in codes(clash)] == ["CUSTOMER_EXISTS"]
    assert (await Customer.get(id=sub)).email == fresh


async def test_setup_intent_returns_a_client_secret_once_per_key(http):
    """The createSetupIntent answers a client secret, the same one for the same key."""
    sub, key = new_subject(), uuid.uuid4().hex
    missing = await mutate(http, "createSetupIntent", sub)
    await new_customer(http, sub)
    first = await mutate(http, "createSetupIntent", sub, key)
    again = await mutate(http, "createSetupIntent", sub, key)
    assert codes(missing) == [("CUSTOMER_NOT_FOUND", "customerId")]
    assert first["clientSecret"].startswith("seti_") and "_secret_" in first["clientSecret"]
    assert again == first
