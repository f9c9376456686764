"""The Stripe adapter, through the real SDK over HTTP, against the stateful fake Stripe."""

import uuid

import pytest

from models.enums import PaymentStatus, RefundReason, RefundStatus
from payments.gateways.base import ChargeRequest, RefundRequest
from payments.gateways.stripe.gateway import StripeGateway
from payments.shared.errors import GatewayUnavailable, RefundExceedsAvailable
from tests.support import free_port


def _charge(method: str = "pm_card_visa", key: str | None = None) -> ChargeRequest:
    payment_id = f"pay_{uuid.uuid4().hex}"
    return ChargeRequest(
        payment_id, 1500, "USD", method, "cus_1", "order 1", key or f"charge-{payment_id}"
    )


async def test_successful_charge_keeps_brand_and_last4(gateway, fake):
    """pm_card_visa succeeds; the PaymentIntent carries our payment id in its metadata."""
    request = _charge()
    result = await gateway.charge(request)
    intent = fake.intents[result.provider_payment_id]
    assert (result.status, result.card_brand, result.card_last4) == (
        PaymentStatus.SUCCEEDED,
        "visa",
        "4242",
    )
    assert intent["metadata"]["payment_id"] == request.payment_id
    assert (intent["amount"], intent["currency"]) == (1500, "usd")


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_doesNotExist", "payment_method_not_found"),
    ],
)
async def test_declines_are_failed_results_not_errors(gateway, method, code):
    """A 402 decline (or an unknown payment method) is a FAILED result with its code."""
    result = await gateway.charge(_charge(method))
    assert (result.status, result.failure_code) == (PaymentStatus.FAILED, code)


async def test_authentication_required_returns_the_client_secret(gateway):
    """requires_action comes back with the PaymentIntent's client secret."""
    result = await gateway.charge(_charge("pm_card_authenticationRequired"))
    assert result.status is PaymentStatus.REQUIRES_ACTION
    assert result.client_secret and result.client_secret.startswith(result.provider_payment_id)


async def test_same_key_replays_the_same_intent(gateway, fake):
    """A repeated idempotency key gets Stripe's stored answer: one charge only."""
    request = _charge()
    first, again = await gateway.charge(request), await gateway.charge(request)
    assert first.provider_payment_id == again.provider_payment_id
    assert fake.charges_created == 1


async def test_response_lost_after_stripe_charged_is_retried_safely(gateway, fake):
    """Stripe charged but the answer was lost: the SDK's retry replays it, no second charge."""
    fake.fail_next("/v1/payment_intents", "after_commit")
    result = await gateway.charge(_charge())
    assert result.status is PaymentStatus.SUCCEEDED
    assert fake.charges_created == 1
    assert len([r for r in fake.requests if r[1] == "/v1/payment_intents"]) == 2


async def test_server_errors_become_gateway_unavailable(gateway, fake):
    """Repeated 5xx after the SDK's retries is GatewayUnavailable (outcome unknown)."""
    fake.fail_next("/v1/payment_intents", "before_commit", times=3)
    with pytest.raises(GatewayUnavailable):
        await gateway.charge(_charge())
    assert fake.charges_created == 0


async def test_a_hanging_stripe_times_out_as_gateway_unavailable(gateway, fake):
    """No answer within the timeout (after retries) is GatewayUnavailable, not a hang."""
    fake.fail_next("/v1/payment_intents", "hang", times=3)
    with pytest.raises(GatewayUnavailable):
        await gateway.charge(_charge())


async def test_unreachable_stripe_is_gateway_unavailable():
    """A refused connection is GatewayUnavailable."""
    gateway = StripeGateway(
        "sk_test_fake", f"http://127.0.0.1:{free_port()}", max_network_retries=0
    )
    with pytest.raises(GatewayUnavailable):
        await gateway.charge(_charge())
    await gateway.aclose()


async def test_reused_key_with_other_parameters_is_not_a_charge(gateway, fake):
    """Stripe's idempotency_error (a bug on our side) is never taken for a result."""
    key = f"charge-{uuid.uuid4().hex}"
    await gateway.charge(_charge(key=key))
    with pytest.raises(GatewayUnavailable):
        await gateway.charge(_charge("pm_card_mastercard", key=key))
    assert fake.charges_created == 1


async def test_refunds_and_over_refunds(gateway, fake):
    """Refunds succeed up to the amount; past it Stripe's refusal is RefundExceedsAvailable."""
    charged = await gateway.charge(_charge())
    refund = await gateway.refund(
        RefundRequest(
            "rfd_1",
            "pay_1",
            charged.provider_payment_id,
            1000,
            RefundReason.DUPLICATE,
            "refund-rfd_1",
        )
    )
    assert refund.status is RefundStatus.SUCCEEDED
    assert fake.refunds[refund.provider_refund_id]["reason"] == "duplicate"
    with pytest.raises(RefundExceedsAvailable):
        await gateway.refund(
            RefundRequest("rfd_2", "pay_1", charged.provider_payment_id, 501, None, "refund-rfd_2")
        )


async def test_find_by_our_ids(gateway):
    """The reconciler finds a PaymentIntent and a refund by the ids in their metadata."""
    request = _charge()
    charged = await gateway.charge(request)
    await gateway.refund(
        RefundRequest(
            "rfd_x", request.payment_id, charged.provider_payment_id, 100, None, "refund-rfd_x"
        )
    )
    found = await gateway.find_payment(request.payment_id)
    refund = await gateway.find_refund("rfd_x", charged.provider_payment_id)
    assert found and found.provider_payment_id == charged.provider_payment_id
    assert refund and refund.status is RefundStatus.SUCCEEDED
    assert await gateway.find_payment("pay_unknown") is None


async def test_fake_rejects_removed_payment_method_types(fake):
    """The fake, like the pinned API version, refuses payment_method_types."""
    import httpx

    async with httpx.AsyncClient(base_url=fake.url) as client:
        response = await client.post(
            "/v1/payment_intents",
            data={"amount": "100", "currency": "usd", "payment_method_types[0]": "card"},
            headers={"Authorization": "Bearer sk_test_x"},
        )
    assert response.status_code == 400


def _refund(provider_payment_id: str, amount: int, refund_id: str = "rfd_1") -> RefundRequest:
    return RefundRequest(
        refund_id, "pay_1", provider_payment_id, amount, None, f"refund-{refund_id}"
    )


async def test_successful_refund_has_no_failure_reason(gateway, fake):
    """Stripe sends no failure_reason key on a refund that has not failed: none is reported."""
    charged = await gateway.charge(_charge())
    refund = await gateway.refund(_refund(charged.provider_payment_id, 700))
    assert "failure_reason" not in fake.refunds[refund.provider_refund_id]
    assert (refund.status, refund.failure_reason) == (RefundStatus.SUCCEEDED, None)
    assert await gateway.find_refund("rfd_1", charged.provider_payment_id) == refund


async def test_refund_that_fails_later_reports_its_failure_reason(gateway, fake):
    """A refund that Stripe fails after the fact is FAILED with Stripe's failure_reason."""
    charged = await gateway.charge(_charge("pm_card_refundFail"))
    refund = await gateway.refund(_refund(charged.provider_payment_id, 1500))
    fake.ledger.advance()
    found = await gateway.find_refund("rfd_1", charged.provider_payment_id)
    assert refund.status is RefundStatus.SUCCEEDED
    assert found and (found.status, found.failure_reason) == (
        RefundStatus.FAILED,
        "expired_or_canceled_card",
    )


async def test_card_decline_reads_the_same_from_the_error_and_the_intent(gateway, fake):
    """A card decline gives one result from the 402 and from the declined PaymentIntent."""
    declined = await gateway.charge(_charge("pm_card_chargeDeclinedInsufficientFunds"))
    intent = fake.intents[declined.provider_payment_id]
    assert isinstance(intent["payment_method"], str) and isinstance(intent["latest_charge"], str)
    assert (declined.failure_code, declined.card_brand, declined.card_last4) == (
        "insufficient_funds",
        "visa",
        "9995",
    )
    assert declined.failure_message == "Your card has insufficient funds."
    assert await gateway.retrieve_payment(declined.provider_payment_id) == declined


async def test_bank_debit_is_processing_and_has_no_card(gateway, fake):
    """A US bank debit's charge has no payment_method_details.card: PROCESSING, no brand."""
    result = await gateway.charge(_charge("pm_usBankAccount_success"))
    charge = fake.ledger.charges[fake.intents[result.provider_payment_id]["latest_charge"]]
    assert "card" not in charge["payment_method_details"]
    assert (result.status, result.card_brand, result.card_last4) == (
        PaymentStatus.PROCESSING,
        None,
        None,
    )
    fake.ledger.advance()
    settled = await gateway.retrieve_payment(result.provider_payment_id)
    assert settled.status is PaymentStatus.SUCCEEDED


async def test_bank_debit_decline_has_its_code_without_a_decline_code(gateway, fake):
    """A failed bank debit (no card, no decline_code) is FAILED with Stripe's error code."""
    request = _charge("pm_usBankAccount_accountClosed")
    result = await gateway.charge(request)
    fake.ledger.advance()
    error = fake.intents[result.provider_payment_id]["last_payment_error"]
    assert "decline_code" not in error and "card" not in error["payment_method"]
    failed = await gateway.retrieve_payment(result.provider_payment_id)
    assert (failed.status, failed.failure_code, failed.card_brand) == (
        PaymentStatus.FAILED,
        "account_closed",
        None,
    )
    assert failed.failure_message == "The customer's bank account has been closed."
    assert await gateway.find_payment(request.payment_id) == failed


async def test_requires_action_reads_the_same_when_retrieved(gateway, fake):
    """requires_action has next_action and no charge yet; retrieving it answers the same."""
    result = await gateway.charge(_charge("pm_card_authenticationRequired"))
    intent = fake.intents[result.provider_payment_id]
    assert intent["next_action"] and intent["latest_charge"] is None
    assert await gateway.retrieve_payment(result.provider_payment_id) == result


async def test_fake_sends_latest_charge_as_an_id_unless_expanded(gateway, fake):
    """The fake, like Stripe, expands latest_charge only when the request asks for it."""
    import httpx

    charged = await gateway.charge(_charge())
    path = f"/v1/payment_intents/{charged.provider_payment_id}"
    headers = {"Authorization": "Bearer sk_test_x"}
    async with httpx.AsyncClient(base_url=fake.url, headers=headers) as client:
        plain = (await client.get(path)).json()
        expanded = (await client.get(path, params={"expand[0]": "latest_charge"})).json()
    assert isinstance(plain["latest_charge"], str)
    assert expanded["latest_charge"]["id"] == plain["latest_charge"]
    assert "refunds" not in expanded["latest_charge"]
