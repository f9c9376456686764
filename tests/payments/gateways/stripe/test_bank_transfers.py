"""Stripe bank transfers through the real SDK against the fake: instructions, funding, events."""

import json
import uuid

import pytest

from models.enums import CaptureMethod, NextActionType, PaymentMethodType, PaymentStatus
from payments.gateways.base import CancelRequest, FundingRequest, IntentRequest, PaymentMoved
from payments.gateways.events import read_event
from payments.gateways.stripe.gateway import StripeGateway

# Each currency's Stripe rail and the financial address its instructions give.
RAILS = {
    "EUR": ("eu_bank_transfer", "iban"),
    "GBP": ("gb_bank_transfer", "sort_code"),
    "USD": ("us_bank_transfer", "aba"),
    "JPY": ("jp_bank_transfer", "zengin"),
    "MXN": ("mx_bank_transfer", "spei"),
}


async def _transfer(gateway, currency: str = "EUR", amount: int = 10_000):
    payment_id = f"pay_{uuid.uuid4().hex}"
    customer = await gateway.customers.create_customer(payment_id, f"customer-{payment_id}")
    request = IntentRequest(
        payment_id=payment_id,
        amount=amount,
        currency=currency,
        customer_id="c",
        description=None,
        capture_method=CaptureMethod.AUTOMATIC,
        idempotency_key=f"intent-{payment_id}",
        payment_method_type=PaymentMethodType.BANK_TRANSFER,
        provider_customer_id=customer,
    )
    return request, await gateway.create_intent(request)


def _funding(request: IntentRequest, result, amount: int) -> FundingRequest:
    assert result.next_action is not None and result.next_action.bank_transfer is not None
    return FundingRequest(
        payment_id=request.payment_id,
        provider_payment_id=result.provider_payment_id,
        provider_customer_id=request.provider_customer_id,
        amount=amount,
        currency=request.currency,
        reference=result.next_action.bank_transfer.reference,
    )


def _update(fake, event_type: str):
    event = next(e for e in reversed(fake.ledger.events) if e["type"] == event_type)
    return read_event("stripe", json.dumps(event))


@pytest.mark.parametrize("currency", sorted(RAILS))
async def test_each_currency_gets_its_rail_and_instructions(gateway, fake, currency):
    """A customer_balance intent confirmed at once with the currency's transfer type."""
    request, result = await _transfer(gateway, currency, 5000)
    intent = fake.intents[result.provider_payment_id]
    funding_type, address_type = RAILS[currency]
    options = intent["payment_method_options"]["customer_balance"]
    assert options["bank_transfer"]["type"] == funding_type
    assert intent["customer"] == request.provider_customer_id
    assert result.status is PaymentStatus.REQUIRES_ACTION
    assert result.amount_received == 0
    assert result.next_action is not None
    assert result.next_action.type is NextActionType.BANK_TRANSFER_INSTRUCTIONS
    instructions = result.next_action.bank_transfer
    assert instructions is not None
    shown = intent["next_action"]["display_bank_transfer_instructions"]
    assert (instructions.reference, instructions.amount_remaining) == (shown["reference"], 5000)
    assert instructions.currency == currency
    assert instructions.hosted_instructions_url == shown["hosted_instructions_url"]
    [address] = instructions.addresses
    assert address.type == address_type
    assert address.account_number or address.iban


async def test_an_eu_transfer_names_its_country_and_gives_an_iban(gateway, fake):
    """eu_bank_transfer is sent with a country; the IBAN and BIC are read from Stripe's address."""
    _, result = await _transfer(gateway, "EUR")
    intent = fake.intents[result.provider_payment_id]
    options = intent["payment_method_options"]["customer_balance"]["bank_transfer"]
    assert options["eu_bank_transfer"] == {"country": "DE"}
    iban = intent["next_action"]["display_bank_transfer_instructions"]["financial_addresses"][0]
    assert result.next_action is not None and result.next_action.bank_transfer is not None
    address = result.next_action.bank_transfer.addresses[0]
    assert (address.iban, address.bic, address.country) == (
        iban["iban"]["iban"],
        iban["iban"]["bic"],
        "DE",
    )


async def test_funding_in_two_parts_is_partially_funded_then_succeeded(gateway, fake):
    """The test bank's money lowers amount_remaining (amount_received stays 0), then pays it."""
    request, result = await _transfer(gateway, "EUR", 10_000)
    await gateway.fund_bank_transfer(_funding(request, result, 4000))
    intent = fake.intents[result.provider_payment_id]
    assert (intent["status"], intent["amount_received"]) == ("requires_action", 0)
    partly = await gateway.retrieve_payment(result.provider_payment_id)
    assert (partly.status, partly.amount_received) == (PaymentStatus.REQUIRES_ACTION, 4000)
    update = _update(fake, "payment_intent.partially_funded")
    assert isinstance(update.change, PaymentMoved)
    assert update.change.status is PaymentStatus.REQUIRES_ACTION
    assert update.change.fields["amount_received"] == 4000
    assert update.change.fields["next_action"]["bank_transfer"]["amount_remaining"] == 6000

    await gateway.fund_bank_transfer(_funding(request, result, 6000))
    paid = await gateway.retrieve_payment(result.provider_payment_id)
    assert (paid.status, paid.amount_captured) == (PaymentStatus.SUCCEEDED, 10_000)
    update = _update(fake, "payment_intent.succeeded")
    assert isinstance(update.change, PaymentMoved)
    assert update.change.status is PaymentStatus.SUCCEEDED
    assert update.change.fields == {"amount_captured": 10_000}
    funded = [t["funded"]["bank_transfer"]["reference"] for t in fake.customers.cash.transactions]
    assert funded == [result.next_action.bank_transfer.reference] * 2
    # Lost webhooks are recovered from Stripe's Events list: both kinds are listed.
    listed = [event["type"] for event in await gateway.list_events(0)]
    assert listed == ["payment_intent.partially_funded", "payment_intent.succeeded"]


async def test_a_partly_funded_transfer_cancels_and_its_money_stays_on_the_balance(gateway, fake):
    """Canceled after a partial funding: the 3000 received go back to the customer's balance."""
    request, result = await _transfer(gateway, "GBP", 8000)
    await gateway.fund_bank_transfer(_funding(request, result, 3000))
    canceled = await gateway.cancel(
        CancelRequest(request.payment_id, result.provider_payment_id, None, "cancel-x")
    )
    assert canceled.status is PaymentStatus.CANCELED
    assert fake.customers.cash.balances[request.provider_customer_id or ""] == {"gbp": 3000}


async def test_only_a_test_key_has_a_test_bank(fake):
    """sk_test_ keys may fund transfers; a live key may not (the domain answers FORBIDDEN)."""
    live = StripeGateway("sk_live_x", fake.url)
    test = StripeGateway("sk_test_x", fake.url)
    assert (live.test_mode, test.test_mode) == (False, True)
    await live.aclose()
    await test.aclose()
