"""chargePayment and refundPayment over HTTP against PostgreSQL with the simulated gateway."""

from tests.support import graphql, new_subject, token

CHARGE = """
mutation($input: ChargePaymentInput!, $key: String!) {
  chargePayment(input: $input, idempotencyKey: $key) {
    payment { id status amount currency amountRefundable failureCode version customerId }
    errors { code field message }
  }
}"""


async def test_visa_charge_succeeds(http):
    """A pm_card_visa charge comes back SUCCEEDED with version 2 and the caller as owner."""
    sub = new_subject()
    body = await graphql(
        http,
        CHARGE,
        {
            "input": {
                "orderId": "o1",
                "amount": 1500,
                "currency": "usd",
                "paymentMethodId": "pm_card_visa",
            },
            "key": "k1",
        },
        bearer=token(sub),
    )
    payload = body["data"]["chargePayment"]
    assert payload["errors"] == []
    assert payload["payment"]["status"] == "SUCCEEDED"
    assert payload["payment"]["currency"] == "USD"
    assert payload["payment"]["version"] == 2
    assert payload["payment"]["customerId"] == sub
