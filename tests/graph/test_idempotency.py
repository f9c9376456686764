"""Idempotency keys behave like Stripe's: replay, conflict, in-use, scoping, concurrency."""

import asyncio
import uuid

from models.idempotency import IdempotencyKey
from models.payment import Payment
from tests.graph.charging import CHARGE, charge, charge_input, refund
from tests.support import graphql, new_subject, token


async def test_same_key_same_input_replays_without_calling_the_gateway(http, gateway):
    """A retry returns the same payment and the gateway is not called again."""
    sub, key = new_subject(), uuid.uuid4().hex
    first = await charge(http, sub, key, orderId="o-replay")
    charges_before = gateway.charge_count
    again = await charge(http, sub, key, orderId="o-replay")
    assert again == first
    assert gateway.charge_count == charges_before
    assert await Payment.filter(customer_id=sub).count() == 1


async def test_replay_of_a_declined_charge_is_the_same_failed_payment(http):
    """A declined charge replays as the same FAILED payment, not a new attempt."""
    sub, key = new_subject(), uuid.uuid4().hex
    first = await charge(http, sub, key, orderId="o-d", paymentMethodId="pm_card_chargeDeclined")
    again = await charge(http, sub, key, orderId="o-d", paymentMethodId="pm_card_chargeDeclined")
    assert again["payment"]["id"] == first["payment"]["id"]
    assert again["payment"]["status"] == "FAILED"


async def test_replay_resolves_fields_as_they_are_now(http):
    """Replayed payments show current state (a later refund), like Stripe's object reads."""
    sub, key = new_subject(), uuid.uuid4().hex
    first = await charge(http, sub, key, orderId="o-now")
    await refund(http, sub, first["payment"]["id"], amount=1000)
    again = await charge(http, sub, key, orderId="o-now")
    assert again["payment"]["amountRefunded"] == 1000
    assert again["payment"]["status"] == "PARTIALLY_REFUNDED"


async def test_same_key_different_input_is_rejected_and_changes_nothing(http):
    """Reusing a key with other parameters is IDEMPOTENCY_KEY_REUSED; nothing is created."""
    sub, key = new_subject(), uuid.uuid4().hex
    await charge(http, sub, key, orderId="o-1", amount=1000)
    conflict = await charge(http, sub, key, orderId="o-1", amount=2000)
    assert conflict["payment"] is None
    assert [e["code"] for e in conflict["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert await Payment.filter(customer_id=sub).count() == 1


async def test_currency_case_does_not_change_the_fingerprint(http):
    """The fingerprint is taken of normalised input: 'usd' and 'USD' are the same request."""
    sub, key = new_subject(), uuid.uuid4().hex
    first = await charge(http, sub, key, orderId="o-case", currency="usd")
    again = await charge(http, sub, key, orderId="o-case", currency="USD")
    assert again["payment"]["id"] == first["payment"]["id"]


async def test_keys_are_scoped_to_principal_and_operation(http):
    """Two principals may use the same key; a charge key does not collide with a refund key."""
    key = uuid.uuid4().hex
    alice, bob = new_subject(), new_subject()
    paid_a = await charge(http, alice, key, orderId="o-a")
    paid_b = await charge(http, bob, key, orderId="o-b")
    assert paid_a["payment"]["id"] != paid_b["payment"]["id"]
    refunded = await refund(http, alice, paid_a["payment"]["id"], key=key, amount=100)
    assert refunded["errors"] == [] and refunded["refund"]["amount"] == 100


async def test_key_length_is_bounded_and_nothing_is_stored(http):
    """Keys of 0 or 256 characters are VALIDATION_ERROR on idempotencyKey, and not stored."""
    sub = new_subject()
    for key in ("", "k" * 256):
        payload = await _charge_raw(http, sub, key)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("VALIDATION_ERROR", "idempotencyKey")
        ]
    assert await IdempotencyKey.filter(principal=sub).count() == 0


async def _charge_raw(http, sub: str, key: str) -> dict:
    body = await graphql(http, CHARGE, {"input": charge_input(), "key": key}, bearer=token(sub))
    return body["data"]["chargePayment"]


async def test_keys_are_stored_as_digests_only(http):
    """The raw key never reaches the database (a client may put anything in it)."""
    sub, key = new_subject(), f"raw-key-{uuid.uuid4().hex}"
    await charge(http, sub, key)
    stored = await IdempotencyKey.get(principal=sub)
    assert stored.key != key and len(stored.key) == 64


async def test_fifty_concurrent_requests_with_one_key_charge_once(http, gateway):
    """50 simultaneous HTTP requests with one key: one payment row, one gateway charge.

    Every answer is that payment or IDEMPOTENCY_KEY_IN_USE; none is an error or a second payment.
    """
    sub, key = new_subject(), uuid.uuid4().hex
    variables = {"input": charge_input(orderId="o-race"), "key": key}
    charges_before = gateway.charge_count
    bodies = await asyncio.gather(
        *(graphql(http, CHARGE, variables, bearer=token(sub)) for _ in range(50))
    )
    payloads = [body["data"]["chargePayment"] for body in bodies]
    payment_ids = {p["payment"]["id"] for p in payloads if p["payment"]}
    other = [p["errors"] for p in payloads if not p["payment"]]
    assert len(payment_ids) == 1
    assert all(
        errors
        == [
            {
                "code": "IDEMPOTENCY_KEY_IN_USE",
                "field": "idempotencyKey",
                "message": errors[0]["message"],
            }
        ]
        for errors in other
    )
    assert await Payment.filter(customer_id=sub).count() == 1
    assert gateway.charge_count - charges_before == 1


async def test_fresh_keys_in_parallel_each_charge_once(http, gateway):
    """Distinct keys sent at once each create exactly one payment."""
    sub = new_subject()
    charges_before = gateway.charge_count
    results = await asyncio.gather(*(charge(http, sub, orderId=f"o-{i}") for i in range(20)))
    assert len({r["payment"]["id"] for r in results}) == 20
    assert gateway.charge_count - charges_before == 20
