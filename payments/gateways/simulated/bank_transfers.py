"""Simulated bank transfers: deterministic instructions, and Stripe's events as money comes in.

The account is a test one of each country's format (Germany's DE89 IBAN for euros); the
reference is derived from our payment id, as a customer would quote it.
"""

import hashlib
from typing import Any

from models.enums import NextActionType
from payments.gateways.base import BankAddress, BankTransferInstructions, NextAction
from payments.gateways.simulated.outcomes import stripe_event

HOLDER = "Simulated Payments Ltd"
# Stripe's financial address of each currency's rail, as its instructions carry it.
_ACCOUNTS: dict[str, dict[str, Any]] = {
    "EUR": {
        "type": "iban",
        "iban": {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "country": "DE"},
    },
    "GBP": {
        "type": "sort_code",
        "sort_code": {"sort_code": "108800", "account_number": "00012345"},
    },
    "USD": {
        "type": "aba",
        "aba": {
            "account_number": "000123456789",
            "routing_number": "110000000",
            "bank_name": "SIMULATED TEST BANK",
        },
    },
    "JPY": {
        "type": "zengin",
        "zengin": {"account_number": "1234567", "bank_code": "0001", "bank_name": "SIMULATED BANK"},
    },
    "MXN": {
        "type": "spei",
        "spei": {"clabe": "002010077777777771", "bank_code": "002", "bank_name": "SIMULATED BANK"},
    },
}
CURRENCIES = frozenset(_ACCOUNTS)


def reference(payment_id: str) -> str:
    """The reference the customer quotes: short, upper case, derived from our payment id."""
    return "SIM" + hashlib.sha256(payment_id.encode()).hexdigest()[:10].upper()


def waiting_action(payment_id: str, currency: str, remaining: int) -> NextAction:
    """The instructions of a transfer still waiting for `remaining`."""
    account = _ACCOUNTS[currency.upper()]
    details = account[account["type"]]
    address = BankAddress(
        type=account["type"],
        iban=details.get("iban"),
        bic=details.get("bic"),
        account_number=details.get("account_number") or details.get("clabe"),
        routing_number=details.get("routing_number") or details.get("bank_code"),
        sort_code=details.get("sort_code"),
        account_holder_name=HOLDER,
        bank_name=details.get("bank_name"),
        country=details.get("country"),
    )
    instructions = BankTransferInstructions(
        reference=reference(payment_id),
        currency=currency.upper(),
        amount_remaining=remaining,
        hosted_instructions_url=None,
        addresses=(address,),
    )
    return NextAction(NextActionType.BANK_TRANSFER_INSTRUCTIONS, bank_transfer=instructions)


def funding_event(
    provider_id: str, payment_id: str, amount: int, currency: str, remaining: int
) -> dict[str, object]:
    """What Stripe sends once money arrived: partially_funded, or succeeded when none remains."""
    event_type = "payment_intent.succeeded" if remaining == 0 else "payment_intent.partially_funded"
    # One event per funding: the amount still to come tells them apart.
    event = stripe_event(
        event_type, provider_id, payment_id, amount, currency, attempt=str(remaining)
    )
    if remaining:
        intent: Any = event["data"]
        intent["object"].update(
            status="requires_action",
            next_action=_display_instructions(payment_id, currency, remaining),
        )
    return event


def _display_instructions(payment_id: str, currency: str, remaining: int) -> dict[str, Any]:
    """Stripe's `next_action` of a waiting transfer, read by the service as Stripe's would be."""
    account = _ACCOUNTS[currency.upper()]
    kind = account["type"]
    address = {
        "type": kind,
        kind: {**account[kind], "account_holder_name": HOLDER},
        "supported_networks": [],
    }
    return {
        "type": "display_bank_transfer_instructions",
        "display_bank_transfer_instructions": {
            "amount_remaining": remaining,
            "currency": currency.lower(),
            "financial_addresses": [address],
            "hosted_instructions_url": None,
            "reference": reference(payment_id),
            "type": "bank_transfer",
        },
    }
