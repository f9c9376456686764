"""Bank transfers through GraphQL: instructions, funding in parts, events and pushes in order."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from app.factory import create_app
from app.wiring import simulated_gateway
from models.enums import NextActionType, PaymentMethodType, PaymentStatus
from models.outbox import OutboxEvent
from models.payment import Payment
from payments.gateways.simulated.bank_transfers import reference
from payments.gateways.stripe.gateway import StripeGateway
from payments.shared.auth import ALL_SCOPES
from tests.conftest import make_settings
from tests.graph.customer_calls import new_customer
from tests.graph.lifecycle import CREATE_INTENT, call
from tests.graph.live.client import live_client
from tests.support import create_payment, error_codes, graphql, new_subject, serve, token
from tests.webhooks.factories import post_event

TRANSFER = """query($id: ID!) {
  payment(id: $id) {
    id status version provider paymentMethodType amount amountReceived amountCaptured
    nextAction { type bankTransfer { reference currency amountRemaining hostedInstructionsUrl
      addresses { type iban bic accountNumber routingNumber sortCode accountHolderName country } } }
  }
}"""
FUND = """mutation($input: FundBankTransferInput!) {
  fundBankTransfer(input: $input) {
    payment { id status amountReceived } errors { code field message }
  }
}"""
STATS = """{ paymentStats(from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z") {
  byCurrency { currency amountCaptured net } } }"""
LIVE = "subscription { paymentsUpdated { id status version amountReceived } }"
ADMIN = token("ops", ALL_SCOPES)
# Each currency's financial address type (Stripe's eu, gb, us, jp and mx bank transfers).
ADDRESS_TYPES = {"EUR": "iban", "GBP": "sort_code", "USD": "aba", "JPY": "zengin", "MXN": "spei"}

Deliver = Callable[[], Awaitable[None]]


async def _view(http: httpx.AsyncClient, payment_id: str, sub: str) -> dict[str, Any]:
    body = await graphql(http, TRANSFER, {"id": payment_id}, bearer=token(sub))
    assert "errors" not in body, body
    payment: dict[str, Any] = body["data"]["payment"]
    return payment


async def _until(
    http: httpx.AsyncClient, payment_id: str, sub: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        view = await _view(http, payment_id, sub)
        if done(view) or time.monotonic() > deadline:
            return view
        await asyncio.sleep(0.05)


async def fund(http: httpx.AsyncClient, payment_id: str, amount: int, bearer: str = ADMIN):
    variables = {"input": {"paymentId": payment_id, "amount": amount}}
    return await graphql(http, FUND, variables, bearer=bearer)


async def open_transfer(
    http: httpx.AsyncClient, sub: str, currency: str = "eur", amount: int = 10_000, **fields: Any
) -> dict[str, Any]:
    """The createPaymentIntent payload of a BANK_TRANSFER for `sub`'s own customer."""
    return await call(
        http,
        sub,
        "createPaymentIntent",
        orderId=f"order-{uuid.uuid4().hex[:8]}",
        amount=amount,
        currency=currency,
        paymentMethodType="BANK_TRANSFER",
        **fields,
    )


async def _funded_in_two_parts(http: httpx.AsyncClient, base_url: str, deliver: Deliver) -> str:
    """Open a 100.00 EUR transfer, fund 40.00 then 60.00; assert every step; its payment id."""
    owner = new_subject()
    await new_customer(http, owner)
    async with live_client(base_url, token(owner)) as live:
        await live.subscribe(LIVE)
        await asyncio.sleep(0.2)
        opened = await open_transfer(http, owner)
        assert opened["errors"] == [], opened
        payment_id = opened["payment"]["id"]
        view = await _view(http, payment_id, owner)
        assert (view["status"], view["paymentMethodType"], view["amountReceived"]) == (
            "REQUIRES_ACTION",
            "BANK_TRANSFER",
            0,
        )
        instructions = view["nextAction"]["bankTransfer"]
        assert view["nextAction"]["type"] == "BANK_TRANSFER_INSTRUCTIONS"
        assert (instructions["currency"], instructions["amountRemaining"]) == ("EUR", 10_000)
        assert instructions["addresses"][0]["type"] == "iban"
        assert instructions["addresses"][0]["iban"]

        first = await fund(http, payment_id, 4000)
        assert first["data"]["fundBankTransfer"]["errors"] == [], first
        await deliver()
        view = await _until(http, payment_id, owner, lambda p: p["amountReceived"] == 4000)
        assert (view["status"], view["amountReceived"]) == ("REQUIRES_ACTION", 4000)
        assert view["nextAction"]["bankTransfer"]["amountRemaining"] == 6000

        second = await fund(http, payment_id, 6000)
        assert second["data"]["fundBankTransfer"]["errors"] == [], second
        await deliver()
        view = await _until(http, payment_id, owner, lambda p: p["status"] == "SUCCEEDED")
        assert (view["status"], view["amountReceived"], view["amountCaptured"]) == (
            "SUCCEEDED",
            10_000,
            10_000,
        )
        assert view["nextAction"] is None
        pushed = [p for p in await live.pushes(until=2) if p["id"] == payment_id]
    steps = [(2, "REQUIRES_ACTION", 0), (3, "REQUIRES_ACTION", 4000), (4, "SUCCEEDED", 10_000)]
    assert [(p["version"], p["status"], p["amountReceived"]) for p in pushed] == steps
    events = await OutboxEvent.filter(payment_id=payment_id).order_by("version")
    assert [(e.version, e.type) for e in events] == [
        (2, "payment.requires_action"),
        (3, "payment.requires_action"),
        (4, "payment.succeeded"),
    ]
    assert events[1].payload["data"]["payment"]["amountReceived"] == 4000
    stats = await graphql(http, STATS, bearer=token(owner))
    assert stats["data"]["paymentStats"]["byCurrency"] == [
        {"currency": "EUR", "amountCaptured": 10_000, "net": 10_000}
    ]
    return payment_id


async def test_a_simulated_transfer_funded_in_two_parts_succeeds(server, http, worker):
    """Instructions, 40.00 then 60.00 from the test bank: its webhooks move it, pushed in order."""
    payment_id = await _funded_in_two_parts(http, server, _nothing)
    payment = await Payment.get(id=payment_id)
    assert payment.next_action is None or payment.status is PaymentStatus.SUCCEEDED
    assert (payment.provider_payment_id or "").startswith("pi_sim")


async def _nothing() -> None:
    """The simulated gateway sends its own webhooks."""


async def test_a_stripe_transfer_funded_in_two_parts_succeeds(settings, fake_stripe, worker):
    """The same flow on Stripe (the fake): fund_cash_balance, then Stripe's events as webhooks."""
    fake, stripe_url = fake_stripe
    gateway = StripeGateway("sk_test_fake", stripe_url, timeout_seconds=5)
    stripe_settings = settings.model_copy(update={"gateway": "stripe"})
    app = create_app(stripe_settings, gateway=gateway, owns_database=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        delivered = 0

        async def deliver() -> None:
            nonlocal delivered
            for event in fake.ledger.events[delivered:]:
                assert (await post_event(client, event)).status_code == 200
            delivered = len(fake.ledger.events)

        payment_id = await _funded_in_two_parts(client, url, deliver)
    payment = await Payment.get(id=payment_id)
    intent = fake.intents[payment.provider_payment_id or ""]
    assert intent["status"] == "succeeded"
    assert [e["type"] for e in fake.ledger.events] == [
        "payment_intent.partially_funded",
        "payment_intent.succeeded",
    ]
    assert payment.gateway == "stripe"


@pytest.mark.parametrize("currency", sorted(ADDRESS_TYPES))
async def test_each_currency_opens_with_its_own_bank_account(http, currency):
    """A BANK_TRANSFER charge without a method: instructions in the currency's format."""
    owner = new_subject()
    await new_customer(http, owner)
    payload = await call(
        http,
        owner,
        "chargePayment",
        orderId=f"order-{uuid.uuid4().hex[:8]}",
        amount=5000,
        currency=currency.lower(),
        paymentMethodType="BANK_TRANSFER",
    )
    assert payload["errors"] == [], payload
    view = await _view(http, payload["payment"]["id"], owner)
    instructions = view["nextAction"]["bankTransfer"]
    assert view["status"] == "REQUIRES_ACTION"
    assert instructions["currency"] == currency
    assert instructions["reference"] == reference(view["id"])
    assert [a["type"] for a in instructions["addresses"]] == [ADDRESS_TYPES[currency]]
    if currency == "EUR":
        assert instructions["addresses"][0]["iban"].startswith("DE89")


async def test_a_currency_without_a_transfer_rail_is_refused_before_anything_is_written(http):
    """CHF: PAYMENT_METHOD_TYPE_UNSUPPORTED, and no payment row."""
    owner = new_subject()
    await new_customer(http, owner)
    order_id = f"order-{uuid.uuid4().hex[:8]}"
    payload = await call(
        http,
        owner,
        "createPaymentIntent",
        orderId=order_id,
        amount=5000,
        currency="chf",
        paymentMethodType="BANK_TRANSFER",
    )
    assert [e["code"] for e in payload["errors"]] == ["PAYMENT_METHOD_TYPE_UNSUPPORTED"]
    assert not await Payment.filter(order_id=order_id).exists()


async def test_a_transfer_needs_a_customer(http):
    """No customer for the caller: CUSTOMER_NOT_FOUND, and the retry gets the same answer."""
    owner, key = new_subject(), uuid.uuid4().hex
    order_id = f"order-{uuid.uuid4().hex[:8]}"
    for _ in range(2):
        payload = await call(
            http,
            owner,
            "chargePayment",
            key,
            orderId=order_id,
            amount=5000,
            currency="eur",
            paymentMethodType="BANK_TRANSFER",
        )
        assert [e["code"] for e in payload["errors"]] == ["CUSTOMER_NOT_FOUND"]


async def test_only_the_owner_sees_the_instructions(http):
    """An admin reading the payment sees no nextAction; the owner does."""
    owner = new_subject()
    await new_customer(http, owner)
    payment_id = (await open_transfer(http, owner))["payment"]["id"]
    body = await graphql(http, TRANSFER, {"id": payment_id}, bearer=ADMIN)
    assert body["data"]["payment"]["nextAction"] is None
    assert (await _view(http, payment_id, owner))["nextAction"]["bankTransfer"]


async def test_bad_fundings_are_typed_errors_and_move_nothing(http, gateway):
    """Too much, not an admin, a canceled transfer, a card payment: refused, nothing funded."""
    owner = new_subject()
    await new_customer(http, owner)
    payment_id = (await open_transfer(http, owner, amount=5000))["payment"]["id"]
    before = await Payment.get(id=payment_id)
    too_much = await fund(http, payment_id, 5001)
    assert [(e["code"], e["field"]) for e in too_much["data"]["fundBankTransfer"]["errors"]] == [
        ("INVALID_AMOUNT", "amount")
    ]
    nothing = await fund(http, payment_id, 0)
    assert [e["code"] for e in nothing["data"]["fundBankTransfer"]["errors"]] == ["INVALID_AMOUNT"]
    assert error_codes(await fund(http, payment_id, 100, bearer=token(owner))) == ["FORBIDDEN"]
    card = await create_payment(status=PaymentStatus.REQUIRES_ACTION)
    refused = await fund(http, card.id, 100)
    assert [e["code"] for e in refused["data"]["fundBankTransfer"]["errors"]] == [
        "PAYMENT_NOT_FUNDABLE"
    ]
    canceled = await call(http, owner, "cancelPayment", paymentId=payment_id)
    assert canceled["payment"]["status"] == "CANCELED", canceled
    late = await fund(http, payment_id, 100)
    assert [e["code"] for e in late["data"]["fundBankTransfer"]["errors"]] == [
        "PAYMENT_NOT_FUNDABLE"
    ]
    after = await Payment.get(id=payment_id)
    assert (before.version + 1, 0) == (after.version, after.amount_received)
    provider_id = before.provider_payment_id or ""
    assert gateway.charges[provider_id].status is PaymentStatus.CANCELED
    assert gateway.charges[provider_id].amount_received == 0


async def test_a_live_stripe_key_has_no_test_bank(settings, fake_stripe):
    """A live key: FORBIDDEN before Stripe is asked anything."""
    fake, stripe_url = fake_stripe
    gateway = StripeGateway("sk_live_nothing", stripe_url, timeout_seconds=5)
    stripe_settings = settings.model_copy(update={"gateway": "stripe"})
    waiting = await create_payment(
        status=PaymentStatus.REQUIRES_ACTION,
        gateway="stripe",
        payment_method_type=PaymentMethodType.BANK_TRANSFER,
        provider_payment_id=f"pi_{uuid.uuid4().hex}",
        next_action={
            "type": NextActionType.BANK_TRANSFER_INSTRUCTIONS.value,
            "bank_transfer": {"reference": "R1", "amount_remaining": 1000},
        },
    )
    app = create_app(stripe_settings, gateway=gateway, owns_database=False)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        assert error_codes(await fund(client, waiting.id, 100)) == ["FORBIDDEN"]
    assert fake.requests == []


async def test_a_partly_funded_transfer_cancels_and_a_funded_one_refunds(server, http, worker):
    """Cancel keeps what came in (on the customer's balance); a paid one refunds within it."""
    owner = new_subject()
    await new_customer(http, owner)
    partly = (await open_transfer(http, owner, amount=8000))["payment"]["id"]
    assert (await fund(http, partly, 3000))["data"]["fundBankTransfer"]["errors"] == []
    await _until(http, partly, owner, lambda p: p["amountReceived"] == 3000)
    canceled = await call(http, owner, "cancelPayment", paymentId=partly)
    assert (canceled["payment"]["status"], canceled["errors"]) == ("CANCELED", [])

    paid = (await open_transfer(http, owner, amount=8000))["payment"]["id"]
    assert (await fund(http, paid, 8000))["data"]["fundBankTransfer"]["errors"] == []
    await _until(http, paid, owner, lambda p: p["status"] == "SUCCEEDED")
    variables = {"input": {"paymentId": paid, "amount": 2500}, "key": uuid.uuid4().hex}
    refunded = await graphql(
        http,
        """mutation($input: RefundPaymentInput!, $key: String!) {
             refundPayment(input: $input, idempotencyKey: $key) {
               payment { status amountRefunded } errors { code } } }""",
        variables,
        bearer=token(owner),
    )
    answer = refunded["data"]["refundPayment"]
    assert answer["errors"] == [], answer
    assert answer["payment"] == {"status": "PARTIALLY_REFUNDED", "amountRefunded": 2500}


async def test_funding_spends_the_charge_budget(database_url):
    """With RATE_LIMIT_CHARGE at 2/minute, the third funding is RATE_LIMITED and moves nothing."""
    settings = make_settings(database_url, rate_limit_charge="2/minute")
    gateway = simulated_gateway(settings)
    app = create_app(settings, gateway=gateway, owns_database=False)
    owner, admin = new_subject(), token(f"ops-{uuid.uuid4().hex[:8]}", ALL_SCOPES)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        await new_customer(client, owner)
        payment_id = (await open_transfer(client, owner))["payment"]["id"]
        answers = [await fund(client, payment_id, 100, bearer=admin) for _ in range(5)]
    assert [error_codes(answer) for answer in answers] == [[], []] + [["RATE_LIMITED"]] * 3
    provider_id = (await Payment.get(id=payment_id)).provider_payment_id or ""
    assert gateway.charges[provider_id].amount_received == 200


async def test_concurrent_fundings_never_fund_past_the_amount(http, gateway):
    """Eight fundings of 10.00 at once on a 50.00 transfer: five land, three are refused."""
    owner = new_subject()
    await new_customer(http, owner)
    payment_id = (await open_transfer(http, owner, amount=5000))["payment"]["id"]
    answers = await asyncio.gather(*(fund(http, payment_id, 1000) for _ in range(8)))
    codes = [
        [e["code"] for e in answer["data"]["fundBankTransfer"]["errors"]] for answer in answers
    ]
    assert codes.count([]) == 5, codes
    assert all(c in ([], ["INVALID_AMOUNT"], ["PAYMENT_NOT_FUNDABLE"]) for c in codes), codes
    provider_id = (await Payment.get(id=payment_id)).provider_payment_id or ""
    paid = gateway.charges[provider_id]
    assert (paid.status, paid.amount_received) == (PaymentStatus.SUCCEEDED, 5000)


async def test_an_admin_opens_a_transfer_for_a_named_customer(http):
    """An admin's customerId names whose balance is funded; an unknown one: CUSTOMER_NOT_FOUND."""
    owner = new_subject()
    await new_customer(http, owner)
    answers = []
    for customer_id in (owner, new_subject()):
        fields = {"orderId": f"order-{uuid.uuid4().hex[:8]}", "amount": 5000, "currency": "gbp"}
        variables = {
            "input": {**fields, "customerId": customer_id, "paymentMethodType": "BANK_TRANSFER"},
            "key": uuid.uuid4().hex,
        }
        body = await graphql(http, CREATE_INTENT, variables, bearer=ADMIN)
        answers.append(body["data"]["createPaymentIntent"])
    opened, unknown = answers
    assert (opened["payment"]["status"], opened["payment"]["customerId"]) == (
        "REQUIRES_ACTION",
        owner,
    )
    assert [e["code"] for e in unknown["errors"]] == ["CUSTOMER_NOT_FOUND"]
