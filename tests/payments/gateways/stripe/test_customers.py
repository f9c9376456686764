"""The Stripe adapter's customers half, through the real SDK over HTTP, against the fake."""

import uuid

import pytest

from models.enums import PaymentStatus
from payments.gateways.base import ChargeRequest
from payments.shared.errors import PaymentMethodNotFound


async def _customer(gateway, customer_id: str = "cus_ours_1") -> str:
    return await gateway.customers.create_customer(customer_id, f"customer-{uuid.uuid4().hex}")


def _saved_charge(method: str, customer: str) -> ChargeRequest:
    payment_id = f"pay_{uuid.uuid4().hex}"
    return ChargeRequest(
        payment_id,
        1500,
        "USD",
        method,
        "cus_ours_1",
        None,
        f"charge-{payment_id}",
        provider_customer_id=customer,
    )


async def test_a_customer_carries_our_id_and_one_key_makes_one(gateway, fake):
    """The create_customer puts our id in metadata; the same key returns the same Customer."""
    first = await gateway.customers.create_customer("cus_ours_1", "customer-abc")
    again = await gateway.customers.create_customer("cus_ours_1", "customer-abc")
    assert first == again and list(fake.customers.customers) == [first]
    stored = fake.customers.customers[first]
    assert stored["metadata"] == {"customer_id": "cus_ours_1"} and stored["email"] is None


async def test_attach_keeps_only_id_brand_last4_and_expiry(gateway, fake):
    """Attaching a test token makes a new PaymentMethod; brand, last4 and expiry come back."""
    customer = await _customer(gateway)
    saved = await gateway.customers.attach_payment_method(customer, "pm_card_mastercard", "a-1")
    assert saved.provider_payment_method_id in fake.customers.payment_methods
    assert saved.provider_payment_method_id != "pm_card_mastercard"
    assert (saved.type, saved.card_brand, saved.card_last4) == ("card", "mastercard", "4444")
    assert (saved.card_exp_month, saved.card_exp_year) == (8, 2030)


@pytest.mark.parametrize("method", ["pm_nope", "pm_card_chargeDeclined"])
async def test_unknown_or_declining_methods_are_not_found(gateway, method):
    """No such PaymentMethod, or a card that fails its check, is PaymentMethodNotFound."""
    customer = await _customer(gateway)
    with pytest.raises(PaymentMethodNotFound):
        await gateway.customers.attach_payment_method(customer, method, f"a-{method}")


async def test_another_customers_method_is_refused(gateway):
    """Attaching a PaymentMethod that belongs to another Customer is PaymentMethodNotFound."""
    owner, thief = await _customer(gateway), await _customer(gateway, "cus_ours_2")
    saved = await gateway.customers.attach_payment_method(owner, "pm_card_visa", "a-2")
    with pytest.raises(PaymentMethodNotFound):
        await gateway.customers.attach_payment_method(
            thief, saved.provider_payment_method_id, "a-3"
        )


async def test_the_default_is_invoice_settings_default_payment_method(gateway, fake):
    """The set_default_payment_method sets, then clears, invoice_settings.default_payment_method."""
    customer = await _customer(gateway)
    saved = await gateway.customers.attach_payment_method(customer, "pm_card_visa", "a-4")
    await gateway.customers.set_default_payment_method(customer, saved.provider_payment_method_id)
    settings = fake.customers.customers[customer]["invoice_settings"]
    assert settings["default_payment_method"] == saved.provider_payment_method_id
    await gateway.customers.set_default_payment_method(customer, None)
    assert settings["default_payment_method"] is None


async def test_a_saved_method_charges_off_session_with_its_customer(gateway, fake):
    """The PaymentIntent names the customer and the saved method, off_session and confirmed."""
    customer = await _customer(gateway)
    saved = await gateway.customers.attach_payment_method(customer, "pm_card_visa", "a-5")
    result = await gateway.charge(_saved_charge(saved.provider_payment_method_id, customer))
    intent = fake.intents[result.provider_payment_id]
    assert result.status is PaymentStatus.SUCCEEDED and result.card_last4 == "4242"
    assert (intent["customer"], intent["payment_method"]) == (
        customer,
        saved.provider_payment_method_id,
    )


async def test_a_detached_method_no_longer_charges(gateway):
    """Detach is permanent: a charge with it fails as payment_method_not_found; again is fine."""
    customer = await _customer(gateway)
    saved = await gateway.customers.attach_payment_method(customer, "pm_card_visa", "a-6")
    await gateway.customers.detach_payment_method(saved.provider_payment_method_id)
    await gateway.customers.detach_payment_method(saved.provider_payment_method_id)
    result = await gateway.charge(_saved_charge(saved.provider_payment_method_id, customer))
    assert (result.status, result.failure_code) == (
        PaymentStatus.FAILED,
        "payment_method_not_found",
    )


async def test_a_setup_intent_is_off_session_and_answers_its_client_secret(gateway, fake):
    """The create_setup_intent asks for usage=off_session and returns the client_secret."""
    customer = await _customer(gateway)
    secret = await gateway.customers.create_setup_intent(customer, "setup-1")
    again = await gateway.customers.create_setup_intent(customer, "setup-1")
    (intent,) = fake.customers.setup_intents.values()
    assert secret == again == intent["client_secret"]
    assert (intent["usage"], intent["customer"]) == ("off_session", customer)
