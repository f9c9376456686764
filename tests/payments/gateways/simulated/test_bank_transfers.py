"""The simulated gateway's bank transfers: deterministic instructions, funded by its test bank."""

import pytest

from models.enums import CaptureMethod, NextActionType, PaymentMethodType, PaymentStatus
from payments.gateways.base import FundingRequest, IntentRequest
from payments.gateways.simulated.bank_transfers import reference
from payments.gateways.simulated.gateway import SimulatedGateway
from payments.shared.errors import InvalidAmount, PaymentNotFundable


def _gateway() -> SimulatedGateway:
    return SimulatedGateway(webhook_secret="whsec_test")


async def _opened(gateway: SimulatedGateway, payment_id: str = "pay_1"):
    return await gateway.create_intent(
        IntentRequest(
            payment_id=payment_id,
            amount=5000,
            currency="EUR",
            customer_id="c",
            description=None,
            capture_method=CaptureMethod.AUTOMATIC,
            idempotency_key=f"intent-{payment_id}",
            payment_method_type=PaymentMethodType.BANK_TRANSFER,
        )
    )


def _funding(provider_id: str, amount: int, **books: int) -> FundingRequest:
    return FundingRequest("pay_1", provider_id, None, amount, "EUR", reference("pay_1"), **books)


async def test_instructions_are_deterministic_and_waiting():
    """The same payment id gives the same DE89 IBAN and reference, waiting for all of it."""
    first, second = await _opened(_gateway()), await _opened(_gateway())
    assert first == second
    assert first.status is PaymentStatus.REQUIRES_ACTION
    assert first.next_action is not None and first.next_action.bank_transfer is not None
    assert first.next_action.type is NextActionType.BANK_TRANSFER_INSTRUCTIONS
    instructions = first.next_action.bank_transfer
    assert (instructions.reference, instructions.amount_remaining) == (reference("pay_1"), 5000)
    assert (instructions.addresses[0].iban or "").startswith("DE89")


async def test_funding_beyond_what_remains_moves_nothing():
    """4000 of 5000, then 2000: InvalidAmount, and 1000 still remains; then 1000 pays it."""
    gateway = _gateway()
    opened = await _opened(gateway)
    await gateway.fund_bank_transfer(_funding(opened.provider_payment_id, 4000))
    with pytest.raises(InvalidAmount):
        await gateway.fund_bank_transfer(_funding(opened.provider_payment_id, 2000))
    partly = gateway.charges[opened.provider_payment_id]
    assert (partly.status, partly.amount_received) == (PaymentStatus.REQUIRES_ACTION, 4000)
    await gateway.fund_bank_transfer(_funding(opened.provider_payment_id, 1000))
    paid = gateway.charges[opened.provider_payment_id]
    assert (paid.status, paid.amount_received, paid.amount_captured) == (
        PaymentStatus.SUCCEEDED,
        5000,
        5000,
    )
    with pytest.raises(PaymentNotFundable):
        await gateway.fund_bank_transfer(_funding(opened.provider_payment_id, 1))


async def test_a_transfer_opened_by_another_process_is_funded_from_our_books():
    """Unknown here (another `serve` worker opened it): funded from the amounts we keep."""
    gateway = _gateway()
    with pytest.raises(PaymentNotFundable):
        await gateway.fund_bank_transfer(_funding("pi_simelsewhere", 100))
    await gateway.fund_bank_transfer(
        _funding("pi_simelsewhere", 4000, payment_amount=5000, amount_received=1000)
    )
    assert gateway.charges["pi_simelsewhere"].status is PaymentStatus.SUCCEEDED
