"""PayPal's events read into neutral updates: absent, null and odd fields all read safely."""

import json
from typing import Any

import pytest

from models.enums import PaymentStatus, RefundStatus
from payments.gateways.base import PaymentApproved, PaymentMoved, RefundsReported
from payments.gateways.paypal.updates import read_paypal_envelope, read_paypal_event
from tests.fakes.paypal_ledger import PayPalLedger
from tests.graph.paypal.conftest import paypal_event


def _read(event_type: str, resource: dict[str, Any]) -> Any:
    return read_paypal_event(json.dumps(paypal_event(event_type, resource)))


def _approved_ledger() -> tuple[PayPalLedger, str]:
    ledger = PayPalLedger()
    order = ledger.create_order(
        {
            "intent": "CAPTURE",
            "purchase_units": [
                {"custom_id": "pay_ours", "amount": {"currency_code": "JPY", "value": "1500"}}
            ],
        },
        None,
    )
    ledger.approve(order["id"])
    return ledger, order["id"]


def test_an_approval_names_the_order_and_our_payment():
    ledger, order_id = _approved_ledger()
    update = _read("CHECKOUT.ORDER.APPROVED", ledger.render_order(order_id, None))
    assert (update.provider_payment_id, update.payment_id) == (order_id, "pay_ours")
    assert update.change == PaymentApproved()


def test_a_capture_names_its_order_and_amount_in_the_currency_minor_unit():
    ledger, order_id = _approved_ledger()
    ledger.capture_order(order_id, None)
    (capture,) = ledger.captures_of(order_id)
    update = _read("PAYMENT.CAPTURE.COMPLETED", ledger.render_capture(capture["id"]))
    assert (update.provider_payment_id, update.payment_id) == (order_id, "pay_ours")
    assert update.change == PaymentMoved(
        PaymentStatus.SUCCEEDED, {"amount_captured": 1500, "amount_capturable": 0}
    )


def test_our_refund_is_recognised_by_its_reference_and_a_foreign_one_is_not():
    ledger, order_id = _approved_ledger()
    ledger.capture_order(order_id, None)
    (capture,) = ledger.captures_of(order_id)
    ours = ledger.refund_capture(
        capture["id"],
        {"amount": {"currency_code": "JPY", "value": "500"}, "custom_id": "pay_ours:ref_1"},
    )
    update = _read("PAYMENT.CAPTURE.REFUNDED", ours)
    assert update.payment_id == "pay_ours"
    assert isinstance(update.change, RefundsReported)
    (refund,) = update.change.refunds
    assert (refund.refund_id, refund.amount, refund.status) == (
        "ref_1",
        500,
        RefundStatus.SUCCEEDED,
    )
    foreign = ledger.refund_capture(
        capture["id"], {"amount": {"currency_code": "JPY", "value": "1"}}
    )
    assert _read("PAYMENT.CAPTURE.REVERSED", foreign).change is None


@pytest.mark.parametrize(
    "event_type",
    [
        "CHECKOUT.ORDER.APPROVED",
        "PAYMENT.CAPTURE.COMPLETED",
        "PAYMENT.CAPTURE.DENIED",
        "PAYMENT.CAPTURE.REFUNDED",
        "PAYMENT.AUTHORIZATION.CREATED",
        "PAYMENT.AUTHORIZATION.VOIDED",
        "CUSTOMER.DISPUTE.CREATED",
    ],
)
@pytest.mark.parametrize(
    "resource",
    [
        {},
        {"id": None, "custom_id": None, "amount": None, "purchase_units": None},
        {"amount": {"currency_code": "XXX", "value": "abc"}, "supplementary_data": "x"},
        {"purchase_units": [None, 3], "status_details": [], "expiration_time": "soon"},
    ],
)
def test_absent_null_and_odd_fields_never_raise(event_type: str, resource: dict[str, Any]):
    """Whatever a verified event carries, it reads into an update (maybe with no reference)."""
    update = _read(event_type, resource)
    assert update.type == event_type
    assert update.provider_payment_id is None
    assert update.payment_id is None


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b"{", b'{"id": 1, "event_type": "X"}', b'{"id": "WH-1"}', b"\xff"],
)
def test_an_envelope_without_usable_id_and_type_is_refused(body: bytes):
    assert read_paypal_envelope(body) is None


def test_an_envelope_keeps_id_type_and_time():
    envelope = read_paypal_envelope(
        b'{"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED",'
        b' "create_time": "2026-12-06T10:00:00.123Z"}'
    )
    assert envelope is not None
    assert (envelope.event_id, envelope.type) == ("WH-1", "PAYMENT.CAPTURE.COMPLETED")
    assert envelope.created_at is not None and envelope.created_at.year == 2026
