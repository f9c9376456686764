"""GraphQL documents and calls shared by the customer and saved-method tests."""

import uuid
from typing import Any

import httpx

from tests.support import graphql, token

METHOD = "id type isDefault createdAt card { brand last4 expMonth expYear }"
CUSTOMER = f"""id email name createdAt defaultPaymentMethod {{ id }}
  paymentMethods {{ {METHOD} }}"""
ERRORS = "errors { code field message }"

DOCUMENTS = {
    "createCustomer": f"""mutation($input: CreateCustomerInput!, $key: String!) {{
      createCustomer(input: $input, idempotencyKey: $key) {{ customer {{ {CUSTOMER} }} {ERRORS} }}
    }}""",
    "updateCustomer": f"""mutation($input: UpdateCustomerInput!) {{
      updateCustomer(input: $input) {{ customer {{ {CUSTOMER} }} {ERRORS} }}
    }}""",
    "createSetupIntent": f"""mutation($input: CreateSetupIntentInput!, $key: String!) {{
      createSetupIntent(input: $input, idempotencyKey: $key) {{ clientSecret {ERRORS} }}
    }}""",
    "attachPaymentMethod": f"""mutation($input: AttachPaymentMethodInput!, $key: String!) {{
      attachPaymentMethod(input: $input, idempotencyKey: $key) {{
        paymentMethod {{ {METHOD} }} customer {{ {CUSTOMER} }} {ERRORS}
      }}
    }}""",
    "setDefaultPaymentMethod": f"""mutation($input: SetDefaultPaymentMethodInput!) {{
      setDefaultPaymentMethod(input: $input) {{ customer {{ {CUSTOMER} }} {ERRORS} }}
    }}""",
    "detachPaymentMethod": f"""mutation($input: DetachPaymentMethodInput!) {{
      detachPaymentMethod(input: $input) {{ customer {{ {CUSTOMER} }} {ERRORS} }}
    }}""",
    "me": f"query {{ me {{ {CUSTOMER} }} }}",
    "customer": f"query($id: ID!) {{ customer(id: $id) {{ {CUSTOMER} }} }}",
    "customerByEmail": "query($email: String!) { customerByEmail(email: $email) { id email } }",
}


def new_email() -> str:
    return f"jenny.{uuid.uuid4().hex[:10]}@Example.com"


async def call(
    http: httpx.AsyncClient, field: str, bearer: str, **variables: Any
) -> dict[str, Any]:
    """The root field's answer; fails the test on a GraphQL-level error."""
    body = await graphql(http, DOCUMENTS[field], variables, bearer=bearer)
    assert "errors" not in body, body
    answer: dict[str, Any] = body["data"][field]
    return answer


async def mutate(
    http: httpx.AsyncClient, field: str, sub: str, key: str | None = None, **input: Any
) -> dict[str, Any]:
    """A customer's own mutation payload; `key` is sent when the mutation takes one."""
    variables: dict[str, Any] = {"input": input}
    if "idempotencyKey" in DOCUMENTS[field]:
        variables["key"] = key or uuid.uuid4().hex
    return await call(http, field, token(sub), **variables)


async def new_customer(http: httpx.AsyncClient, sub: str, *methods: str) -> dict[str, Any]:
    """`sub`'s customer with `methods` attached in order; returns the last customer view."""
    payload = await mutate(http, "createCustomer", sub, email=new_email(), name="Jenny Rosen")
    assert payload["errors"] == [], payload
    customer: dict[str, Any] = payload["customer"]
    for method in methods:
        attached = await mutate(http, "attachPaymentMethod", sub, paymentMethodId=method)
        assert attached["errors"] == [], attached
        customer = attached["customer"]
    return customer


def codes(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(error["code"], error["field"]) for error in payload["errors"]]
