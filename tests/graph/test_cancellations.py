"""cancelPayment: open intents and authorizations are canceled; other states, owners, reasons."""

import pytest

from models.outbox import OutboxEvent
from models.payment import Payment
from tests.graph.charging import charge, refund
from tests.graph.lifecycle import MUTATIONS, authorized, call, create_intent
from tests.support import error_codes, graphql, new_subject, token


async def test_an_authorization_is_voided_with_its_reason(http):
    """AUTHORIZED -> CANCELED with reason and time; nothing stays capturable or refundable."""
    sub = new_subject()
    payment = await authorized(http, sub)
    result = await call(
        http, sub, "cancelPayment", paymentId=payment["id"], reason="REQUESTED_BY_CUSTOMER"
    )
    canceled = result["payment"]
    assert (canceled["status"], canceled["cancellationReason"]) == (
        "CANCELED",
        "REQUESTED_BY_CUSTOMER",
    )
    assert canceled["canceledAt"] and canceled["amountCapturable"] == 0
    after = await refund(http, sub, payment["id"], amount=100)
    assert [e["code"] for e in after["errors"]] == ["PAYMENT_NOT_REFUNDABLE"]
    captured = await call(http, sub, "capturePayment", paymentId=payment["id"])
    assert [e["code"] for e in captured["errors"]] == ["PAYMENT_NOT_CAPTURABLE"]
    event = await OutboxEvent.filter(payment_id=payment["id"]).order_by("-version").first()
    assert event.type == "payment.canceled"


async def test_an_open_intent_is_canceled(http):
    """REQUIRES_PAYMENT_METHOD -> CANCELED (abandoned checkout)."""
    sub = new_subject()
    payment = (await create_intent(http, sub))["payment"]
    result = await call(http, sub, "cancelPayment", paymentId=payment["id"], reason="ABANDONED")
    assert (result["payment"]["status"], result["payment"]["cancellationReason"]) == (
        "CANCELED",
        "ABANDONED",
    )


async def test_a_settled_payment_is_not_cancelable(http):
    """A SUCCEEDED payment is PAYMENT_NOT_CANCELABLE and stays SUCCEEDED."""
    sub = new_subject()
    payment = (await charge(http, sub))["payment"]
    result = await call(http, sub, "cancelPayment", paymentId=payment["id"])
    assert [e["code"] for e in result["errors"]] == ["PAYMENT_NOT_CANCELABLE"]
    assert (await Payment.get(id=payment["id"])).status.value == "SUCCEEDED"


async def test_cancel_of_another_owners_payment_is_not_found(http):
    """Another customer's authorization reads as NOT_FOUND and stays authorized."""
    payment = await authorized(http, new_subject())
    result = await call(http, new_subject(), "cancelPayment", paymentId=payment["id"])
    assert [e["code"] for e in result["errors"]] == ["NOT_FOUND"]
    assert (await Payment.get(id=payment["id"])).status.value == "AUTHORIZED"


@pytest.mark.parametrize("reason", ["LOST_INTEREST", "expired"])
async def test_unknown_cancellation_reason_is_rejected_by_the_schema(http, reason):
    """A reason outside CancellationReason is a GraphQL error; the payment does not move."""
    sub = new_subject()
    payment = await authorized(http, sub)
    variables = {"input": {"paymentId": payment["id"], "reason": reason}, "key": "k-" + sub}
    body = await graphql(http, MUTATIONS["cancelPayment"], variables, bearer=token(sub))
    assert error_codes(body) == ["BAD_USER_INPUT"] or error_codes(body) == [
        "GRAPHQL_VALIDATION_FAILED"
    ]
    assert body.get("data") is None
    assert (await Payment.get(id=payment["id"])).status.value == "AUTHORIZED"
