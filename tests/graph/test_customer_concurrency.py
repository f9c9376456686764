"""Many real requests at once against PostgreSQL: one customer, one email, one default."""

import asyncio
import uuid

from models.customer import Customer, PaymentMethod
from models.payment import Payment
from tests.graph.charging import charge
from tests.graph.customer_calls import codes, mutate, new_customer, new_email

CONCURRENCY = 12


async def test_one_key_at_once_makes_one_customer_at_the_gateway(http, gateway, monkeypatch):
    """Concurrent createCustomer with one key: one row and one gateway customer."""
    calls: list[str] = []
    create = gateway.customers.create_customer

    async def counted(customer_id: str, key: str) -> str:
        calls.append(customer_id)
        return await create(customer_id, key)

    monkeypatch.setattr(gateway.customers, "create_customer", counted)
    sub, email, key = f"cus_{uuid.uuid4().hex[:12]}", new_email(), uuid.uuid4().hex
    payloads = await asyncio.gather(
        *(mutate(http, "createCustomer", sub, key, email=email) for _ in range(CONCURRENCY))
    )
    outcomes = {code for payload in payloads for code, _ in codes(payload)}
    assert outcomes <= {"IDEMPOTENCY_KEY_IN_USE"}
    assert calls == [sub]
    assert await Customer.filter(id=sub).count() == 1


async def test_one_email_with_many_keys_has_one_winner(http):
    """Concurrent createCustomer for one email by many subs: one wins, the rest CUSTOMER_EXISTS."""
    email = new_email()
    subs = [f"cus_{uuid.uuid4().hex[:12]}" for _ in range(CONCURRENCY)]
    payloads = await asyncio.gather(
        *(mutate(http, "createCustomer", sub, email=email.swapcase() if i % 2 else email)
          for i, sub in enumerate(subs))
    )  # fmt: skip
    results = sorted(codes(payload)[0][0] if payload["errors"] else "OK" for payload in payloads)
    assert results == ["CUSTOMER_EXISTS"] * (CONCURRENCY - 1) + ["OK"]
    assert await Customer.filter(id__in=subs).count() == 1


async def test_concurrent_attaches_leave_exactly_one_default(http):
    """Many attaches at once to a customer without methods: exactly one becomes default."""
    sub = f"cus_{uuid.uuid4().hex[:12]}"
    await new_customer(http, sub)
    methods = [f"pm_card_test{index}" for index in range(CONCURRENCY)]
    payloads = await asyncio.gather(
        *(mutate(http, "attachPaymentMethod", sub, paymentMethodId=m) for m in methods)
    )
    assert all(payload["errors"] == [] for payload in payloads)
    assert await PaymentMethod.filter(customer_id=sub).count() == CONCURRENCY
    assert await PaymentMethod.filter(customer_id=sub, is_default=True).count() == 1


async def test_a_detach_racing_charges_never_charges_the_detached_method(http, gateway):
    """Charges of the default racing its detach: none succeeds on it once it is detached."""
    sub = f"cus_{uuid.uuid4().hex[:12]}"
    customer = await new_customer(http, sub, "pm_card_mastercard", "pm_card_visa")
    visa = customer["paymentMethods"][1]["id"]
    saved = (await PaymentMethod.get(id=visa)).provider_payment_method_id
    charged_after_detach: list[str] = []
    detach = gateway.customers.detach_payment_method
    charge_at_gateway = gateway.charge

    async def detach_then_watch(method_id: str) -> None:
        await detach(method_id)
        charged_after_detach.append("detached")

    async def watched_charge(request):
        result = await charge_at_gateway(request)
        if charged_after_detach and request.payment_method_id == saved:
            charged_after_detach.append(result.status.value)
        return result

    gateway.customers.detach_payment_method = detach_then_watch
    gateway.charge = watched_charge
    try:
        await asyncio.gather(
            mutate(http, "detachPaymentMethod", sub, paymentMethodId=visa),
            *(charge(http, sub, paymentMethodId=None) for _ in range(CONCURRENCY)),
        )
    finally:
        del gateway.customers.detach_payment_method, gateway.charge
    assert "SUCCEEDED" not in charged_after_detach[1:]
    assert await PaymentMethod.filter(customer_id=sub, is_default=True).count() == 1
    assert not await Payment.filter(customer_id=sub, payment_method_id=saved, status="PENDING")
