"""chargePayment: outcomes of the simulated gateway's payment methods, and input validation."""

import pytest

from models.payment import Payment
from tests.graph.charging import charge
from tests.support import new_subject


@pytest.mark.parametrize(
    ("method", "status", "failure_code"),
    [
        ("pm_card_visa", "SUCCEEDED", None),
        ("pm_card_mastercard", "SUCCEEDED", None),
        ("pm_card_amex", "SUCCEEDED", None),
        ("pm_card_chargeDeclined", "FAILED", "card_declined"),
        ("pm_card_chargeDeclinedInsufficientFunds", "FAILED", "insufficient_funds"),
        ("pm_card_authenticationRequired", "REQUIRES_ACTION", None),
        ("pm_sim_processing", "PROCESSING", None),
        ("pm_unknown_method", "FAILED", "payment_method_not_found"),
        ("card_1234", "FAILED", "payment_method_not_found"),
    ],
)
async def test_payment_method_outcomes(http, method, status, failure_code):
    """Each test payment method ends in DESIGN.md's status; a decline is data, not an error."""
    payload = await charge(http, new_subject(), paymentMethodId=method)
    assert payload["errors"] == []
    assert payload["payment"]["status"] == status
    assert payload["payment"]["failureCode"] == failure_code
    assert payload["payment"]["providerPaymentId"].startswith("pi_")


async def test_requires_action_returns_client_secret_to_owner_only(http):
    """The clientSecret of a 3-D Secure payment goes to its owner, and to nobody else."""
    from tests.support import graphql, token

    owner = new_subject()
    payment = (await charge(http, owner, paymentMethodId="pm_card_authenticationRequired"))[
        "payment"
    ]
    assert payment["clientSecret"]
    admin = token(new_subject(), scope="payments:read payments:admin")
    seen = await graphql(
        http,
        "query($id: ID!) { payment(id: $id) { clientSecret } }",
        {"id": payment["id"]},
        bearer=admin,
    )
    assert seen["data"]["payment"] == {"clientSecret": None}


async def test_card_details_kept_are_brand_and_last4_only(http):
    """A successful card charge records brand and last4 for display."""
    payment = (await charge(http, new_subject(), paymentMethodId="pm_card_mastercard"))["payment"]
    assert (payment["cardBrand"], payment["cardLast4"]) == ("mastercard", "4444")


async def test_zero_decimal_currency(http):
    """JPY has no minor unit: 500 means ¥500 and is above the ¥50 minimum."""
    payment = (await charge(http, new_subject(), amount=500, currency="jpy"))["payment"]
    assert (payment["amount"], payment["currency"], payment["status"]) == (500, "JPY", "SUCCEEDED")


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"amount": 0}, "INVALID_AMOUNT", "amount"),
        ({"amount": -100}, "INVALID_AMOUNT", "amount"),
        ({"amount": 49}, "INVALID_AMOUNT", "amount"),
        ({"amount": 100_000_000}, "INVALID_AMOUNT", "amount"),
        ({"currency": "usdx"}, "INVALID_CURRENCY", "currency"),
        ({"currency": "ZZZ"}, "INVALID_CURRENCY", "currency"),
        ({"orderId": ""}, "VALIDATION_ERROR", "orderId"),
        ({"orderId": "x" * 256}, "VALIDATION_ERROR", "orderId"),
        ({"paymentMethodId": ""}, "VALIDATION_ERROR", "paymentMethodId"),
        ({"paymentMethodId": "4242424242424242"}, "VALIDATION_ERROR", "paymentMethodId"),
        ({"description": "card 4242 4242 4242 4242"}, "VALIDATION_ERROR", "description"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "VALIDATION_ERROR", "metadata"),
        ({"metadata": {"k": "v" * 501}}, "VALIDATION_ERROR", "metadata"),
        ({"metadata": {"k": {"nested": 1}}}, "VALIDATION_ERROR", "metadata"),
        ({"metadata": ["not", "an", "object"]}, "VALIDATION_ERROR", "metadata"),
    ],
)
async def test_invalid_input_is_reported_and_nothing_is_written(http, overrides, code, field):
    """Each invalid field is a PaymentError with its field set, and no payment row appears."""
    sub = new_subject()
    payload = await charge(http, sub, **overrides)
    assert payload["payment"] is None
    assert {"code": code, "field": field} in [
        {"code": e["code"], "field": e["field"]} for e in payload["errors"]
    ]
    assert await Payment.filter(customer_id=sub).count() == 0


async def test_every_invalid_field_is_reported_at_once(http):
    """Several problems in one input come back together."""
    payload = await charge(http, new_subject(), amount=0, orderId="", paymentMethodId="pm card")
    fields = {(e["code"], e["field"]) for e in payload["errors"]}
    assert fields == {
        ("INVALID_AMOUNT", "amount"),
        ("VALIDATION_ERROR", "orderId"),
        ("VALIDATION_ERROR", "paymentMethodId"),
    }


@pytest.mark.parametrize(
    "order_id",
    # Each was refused by the earlier guard (a Luhn-valid run of 13-19 digits and separators).
    ["o-123456789-0003", "o-737373737-0001", "INV-2025-001200018", "67515448340910453820"],
)
async def test_order_references_are_not_card_numbers(http, order_id):
    """Order ids with long digit runs (Luhn-valid ones included) are charged, not refused."""
    payload = await charge(http, new_subject(), orderId=order_id)
    assert payload["errors"] == []
    assert payload["payment"]["orderId"] == order_id
