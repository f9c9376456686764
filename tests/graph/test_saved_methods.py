"""Saved payment methods over real HTTP: attach, defaults, detach and charging them."""

import uuid

from models.customer import PaymentMethod
from models.outbox import OutboxEvent
from payments.shared.auth import ALL_SCOPES
from tests.graph.charging import CHARGE, charge, charge_input
from tests.graph.customer_calls import call, codes, mutate, new_customer
from tests.support import graphql, new_subject, token

VISA = {"brand": "visa", "last4": "4242", "expMonth": 12, "expYear": 2034}


def _ids(customer: dict) -> list[str]:
    return [method["id"] for method in customer["paymentMethods"]]


def _default(customer: dict) -> str | None:
    chosen = customer["defaultPaymentMethod"]
    return chosen["id"] if chosen else None


async def test_the_first_attached_method_is_the_default(http):
    """The pm_card_visa becomes a default visa 4242; a later mastercard 4444 does not."""
    sub = new_subject()
    customer = await new_customer(http, sub, "pm_card_visa", "pm_card_mastercard")
    mastercard, visa = customer["paymentMethods"]
    assert (visa["card"], visa["isDefault"], visa["type"]) == (VISA, True, "card")
    assert (mastercard["card"]["brand"], mastercard["card"]["last4"]) == ("mastercard", "4444")
    assert not mastercard["isDefault"] and _default(customer) == visa["id"]


async def test_set_as_default_on_attach_moves_the_default(http):
    """The setAsDefault: true makes the newly attached method the only default."""
    sub = new_subject()
    await new_customer(http, sub, "pm_card_visa")
    attached = await mutate(
        http, "attachPaymentMethod", sub, paymentMethodId="pm_card_mastercard", setAsDefault=True
    )
    assert _default(attached["customer"]) == attached["paymentMethod"]["id"]
    assert sum(m["isDefault"] for m in attached["customer"]["paymentMethods"]) == 1


async def test_attaching_one_method_twice_keeps_one_row(http):
    """A second attach of the same method (new key) finds the first row."""
    sub = new_subject()
    customer = await new_customer(http, sub, "pm_card_visa", "pm_card_visa")
    assert len(customer["paymentMethods"]) == 1
    assert await PaymentMethod.filter(customer_id=sub).count() == 1


async def test_unknown_and_foreign_methods_are_not_found_and_change_nothing(http):
    """An unknown id, or another customer's saved method, is PAYMENT_METHOD_NOT_FOUND."""
    owner, thief = new_subject(), new_subject()
    await new_customer(http, owner, "pm_card_visa")
    await new_customer(http, thief)
    stolen = (await PaymentMethod.get(customer_id=owner)).provider_payment_method_id
    unknown = await mutate(http, "attachPaymentMethod", thief, paymentMethodId="pm_nope")
    foreign = await mutate(http, "attachPaymentMethod", thief, paymentMethodId=stolen)
    assert codes(unknown) == codes(foreign) == [("PAYMENT_METHOD_NOT_FOUND", "paymentMethodId")]
    assert await PaymentMethod.filter(customer_id=thief).count() == 0
    assert await PaymentMethod.filter(customer_id=owner).count() == 1


async def test_set_default_switches_and_refuses_anothers_method(http):
    """The setDefaultPaymentMethod moves the default; another's method id is not found."""
    sub = new_subject()
    customer = await new_customer(http, sub, "pm_card_visa", "pm_card_mastercard")
    mastercard = customer["paymentMethods"][0]["id"]
    switched = await mutate(http, "setDefaultPaymentMethod", sub, paymentMethodId=mastercard)
    stranger = await new_customer(http, new_subject())
    refused = await mutate(
        http, "setDefaultPaymentMethod", stranger["id"], paymentMethodId=mastercard
    )
    assert _default(switched["customer"]) == mastercard
    assert codes(refused) == [("PAYMENT_METHOD_NOT_FOUND", "paymentMethodId")]


async def test_detaching_the_default_promotes_the_most_recent_remaining(http):
    """Detach the default: the newest left is default; the last one gone leaves none."""
    sub = new_subject()
    customer = await new_customer(
        http, sub, "pm_card_visa", "pm_card_mastercard", "pm_card_chargeDeclined"
    )
    declined, mastercard, visa = _ids(customer)
    after_first = await mutate(http, "detachPaymentMethod", sub, paymentMethodId=visa)
    after_second = await mutate(http, "detachPaymentMethod", sub, paymentMethodId=declined)
    after_last = await mutate(http, "detachPaymentMethod", sub, paymentMethodId=mastercard)
    assert _default(after_first["customer"]) == declined
    assert _default(after_second["customer"]) == mastercard
    assert (
        after_last["customer"]["paymentMethods"] == [] and _default(after_last["customer"]) is None
    )


async def test_charge_without_a_method_uses_the_default(http, gateway):
    """The chargePayment with no paymentMethodId charges the default, off-session at the gateway."""
    sub = new_subject()
    await new_customer(http, sub, "pm_card_mastercard", "pm_card_visa")
    payload = await charge(http, sub, paymentMethodId=None)
    saved = await PaymentMethod.get(customer_id=sub, is_default=True)
    assert payload["payment"]["status"] == "SUCCEEDED"
    assert payload["payment"]["cardBrand"] == "mastercard"
    assert gateway.charges[payload["payment"]["providerPaymentId"]].card_last4 == "4444"
    assert saved.provider_payment_method_id.endswith("pm_card_mastercard")


async def test_a_saved_method_charges_as_its_test_id(http):
    """A saved pm_card_chargeDeclined, named by our id, fails the charge as card_declined."""
    sub = new_subject()
    customer = await new_customer(http, sub, "pm_card_visa", "pm_card_chargeDeclined")
    declined = customer["paymentMethods"][0]["id"]
    payload = await charge(http, sub, paymentMethodId=declined)
    assert (payload["payment"]["status"], payload["payment"]["failureCode"]) == (
        "FAILED",
        "card_declined",
    )


async def test_no_default_and_foreign_saved_methods_are_errors(http):
    """No default: NO_DEFAULT_PAYMENT_METHOD; another's saved id: PAYMENT_METHOD_NOT_FOUND."""
    sub, other = new_subject(), new_subject()
    await new_customer(http, sub)
    theirs = _ids(await new_customer(http, other, "pm_card_visa"))[0]
    no_default = await charge(http, sub, paymentMethodId=None)
    foreign = await charge(http, sub, paymentMethodId=theirs)
    no_customer = await charge(http, new_subject(), paymentMethodId=None)
    assert codes(no_default) == [("NO_DEFAULT_PAYMENT_METHOD", "paymentMethodId")]
    assert codes(foreign) == [("PAYMENT_METHOD_NOT_FOUND", "paymentMethodId")]
    assert codes(no_customer) == [("CUSTOMER_NOT_FOUND", "customerId")]


async def test_a_retry_of_a_refused_charge_gets_the_same_error(http):
    """The NO_DEFAULT_PAYMENT_METHOD outcome is stored on the key, as Stripe stores errors."""
    sub, key = new_subject(), uuid.uuid4().hex
    await new_customer(http, sub)
    first = await charge(http, sub, key, orderId=key, paymentMethodId=None)
    await mutate(http, "attachPaymentMethod", sub, paymentMethodId="pm_card_visa")
    again = await charge(http, sub, key, orderId=key, paymentMethodId=None)
    assert codes(again) == codes(first) == [("NO_DEFAULT_PAYMENT_METHOD", "paymentMethodId")]


async def test_an_admin_charges_any_customers_default(http):
    """An admin naming a customerId charges that customer's default method."""
    sub = new_subject()
    await new_customer(http, sub, "pm_card_visa")
    variables = {"input": charge_input(customerId=sub, paymentMethodId=None), "key": "k" + sub}
    body = await graphql(http, CHARGE, variables, bearer=token(new_subject(), ALL_SCOPES))
    payment = body["data"]["chargePayment"]["payment"]
    assert (payment["customerId"], payment["status"]) == (sub, "SUCCEEDED")


async def test_a_detached_method_is_no_longer_charged(http):
    """After detaching, our id is not found and its gateway id fails at the gateway."""
    sub = new_subject()
    customer = await new_customer(http, sub, "pm_card_visa")
    saved = await PaymentMethod.get(customer_id=sub)
    await mutate(http, "detachPaymentMethod", sub, paymentMethodId=_ids(customer)[0])
    by_our_id = await charge(http, sub, paymentMethodId=saved.id)
    by_gateway_id = await charge(http, sub, paymentMethodId=saved.provider_payment_method_id)
    assert codes(by_our_id) == [("PAYMENT_METHOD_NOT_FOUND", "paymentMethodId")]
    assert by_gateway_id["payment"]["failureCode"] == "payment_method_not_found"


async def test_outgoing_events_carry_no_email_or_name(http):
    """A default-method charge's outbox events hold the customer id, not its email or name."""
    sub = new_subject()
    customer = await new_customer(http, sub, "pm_card_visa")
    payment = (await charge(http, sub, paymentMethodId=None))["payment"]
    events = await OutboxEvent.filter(payment_id=payment["id"])
    text = "".join(str(event.payload) for event in events)
    assert events and sub in text
    assert customer["email"] not in text and "Jenny Rosen" not in text


async def test_customer_payments_are_its_own(http):
    """Customer.payments pages the customer's own payments."""
    sub = new_subject()
    await new_customer(http, sub, "pm_card_visa")
    paid = (await charge(http, sub, paymentMethodId=None))["payment"]["id"]
    body = await graphql(http, "{ me { payments(first: 5) { nodes { id } } } }", bearer=token(sub))
    assert [node["id"] for node in body["data"]["me"]["payments"]["nodes"]] == [paid]
    assert await call(http, "me", token(new_subject())) is None
