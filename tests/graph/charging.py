"""GraphQL documents and calls shared by the charge and refund tests."""

import uuid
from typing import Any

import httpx

from tests.support import graphql, token

PAYMENT_FIELDS = """id status amount currency amountRefunded amountRefundable failureCode
  failureMessage clientSecret providerPaymentId version customerId orderId cardBrand cardLast4"""

CHARGE = f"""
mutation($input: ChargePaymentInput!, $key: String!) {{
  chargePayment(input: $input, idempotencyKey: $key) {{
    payment {{ {PAYMENT_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""

REFUND = f"""
mutation($input: RefundPaymentInput!, $key: String!) {{
  refundPayment(input: $input, idempotencyKey: $key) {{
    refund {{ id amount status reason }}
    payment {{ {PAYMENT_FIELDS} }}
    errors {{ code field message }}
  }}
}}"""


def charge_input(**overrides: Any) -> dict[str, Any]:
    values = {
        "orderId": f"order-{uuid.uuid4().hex[:8]}",
        "amount": 10_000,
        "currency": "usd",
        "paymentMethodId": "pm_card_visa",
    }
    return {**values, **overrides}


async def charge(
    http: httpx.AsyncClient, sub: str, key: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """The chargePayment payload (payment and errors)."""
    variables = {"input": charge_input(**overrides), "key": key or uuid.uuid4().hex}
    body = await graphql(http, CHARGE, variables, bearer=token(sub))
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["chargePayment"]
    return payload


async def refund(
    http: httpx.AsyncClient, sub: str, payment_id: str, key: str | None = None, **fields: Any
) -> dict[str, Any]:
    """The refundPayment payload (refund, payment and errors)."""
    variables = {"input": {"paymentId": payment_id, **fields}, "key": key or uuid.uuid4().hex}
    body = await graphql(http, REFUND, variables, bearer=token(sub))
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["refundPayment"]
    return payload
