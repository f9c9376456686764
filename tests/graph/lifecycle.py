"""GraphQL documents and calls of the payment lifecycle: intents, confirm, capture, cancel."""

import uuid
from typing import Any

import httpx

from tests.graph.charging import PAYMENT_FIELDS, charge_input
from tests.support import graphql, token

LIFECYCLE_FIELDS = f"""{PAYMENT_FIELDS} captureMethod amountCapturable amountCaptured
  captureBefore canceledAt cancellationReason"""

CREATE_INTENT = f"""
mutation($input: CreatePaymentIntentInput!, $key: String!) {{
  createPaymentIntent(input: $input, idempotencyKey: $key) {{
    payment {{ {LIFECYCLE_FIELDS} }} clientSecret errors {{ code field message }}
  }}
}}"""


def _mutation(name: str, input_type: str) -> str:
    return f"""
mutation($input: {input_type}!, $key: String!) {{
  {name}(input: $input, idempotencyKey: $key) {{
    payment {{ {LIFECYCLE_FIELDS} }} errors {{ code field message }}
  }}
}}"""


MUTATIONS = {
    "chargePayment": _mutation("chargePayment", "ChargePaymentInput"),
    "confirmPayment": _mutation("confirmPayment", "ConfirmPaymentInput"),
    "capturePayment": _mutation("capturePayment", "CapturePaymentInput"),
    "cancelPayment": _mutation("cancelPayment", "CancelPaymentInput"),
}


async def call(
    http: httpx.AsyncClient, sub: str, name: str, key: str | None = None, **fields: Any
) -> dict[str, Any]:
    """The payload of lifecycle mutation `name` with `fields` as its input."""
    document = CREATE_INTENT if name == "createPaymentIntent" else MUTATIONS[name]
    variables = {"input": fields, "key": key or uuid.uuid4().hex}
    body = await graphql(http, document, variables, bearer=token(sub))
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][name]
    return payload


async def create_intent(http: httpx.AsyncClient, sub: str, **fields: Any) -> dict[str, Any]:
    """A REQUIRES_PAYMENT_METHOD payment made by createPaymentIntent (its payload)."""
    values = {"orderId": f"order-{uuid.uuid4().hex[:8]}", "amount": 5000, "currency": "usd"}
    payload = await call(http, sub, "createPaymentIntent", **{**values, **fields})
    assert payload["errors"] == [], payload
    return payload


async def authorized(http: httpx.AsyncClient, sub: str, amount: int = 10_000) -> dict[str, Any]:
    """An AUTHORIZED payment made by chargePayment with captureMethod MANUAL."""
    fields = charge_input(amount=amount, captureMethod="MANUAL")
    payload = await call(http, sub, "chargePayment", **fields)
    assert payload["payment"]["status"] == "AUTHORIZED", payload
    return payload["payment"]
