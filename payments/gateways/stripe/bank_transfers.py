"""Stripe's `customer_balance` bank transfers: the funding type per currency and the instructions.

Read from plain JSON (a webhook's object, or an SDK object's `to_dict()`), so the adapter's
answers and the stored events share one reader.
"""

from typing import Any

from stripe.params import (
    PaymentIntentCreateParamsPaymentMethodOptionsCustomerBalance as CustomerBalanceOptions,
)
from stripe.params import (
    PaymentIntentCreateParamsPaymentMethodOptionsCustomerBalanceBankTransfer as TransferOptions,
)

from models.enums import NextActionType
from payments.gateways.base import BankAddress, BankTransferInstructions, NextAction

# Stripe's bank-transfer type for each currency it takes them in (ours are upper case).
FUNDING_TYPES = {
    "EUR": "eu_bank_transfer",
    "GBP": "gb_bank_transfer",
    "USD": "us_bank_transfer",
    "JPY": "jp_bank_transfer",
    "MXN": "mx_bank_transfer",
}
# eu_bank_transfer needs the country of the account Stripe gives out; ours is German.
EU_COUNTRY = "DE"


def funding_options(currency: str) -> CustomerBalanceOptions:
    """`payment_method_options[customer_balance]` for a transfer in `currency`.

    Callers checked the currency (the domain refuses others before anything is created).
    """
    funding_type = FUNDING_TYPES[currency.upper()]
    bank_transfer: TransferOptions = {"type": funding_type}
    if funding_type == "eu_bank_transfer":
        bank_transfer["eu_bank_transfer"] = {"country": EU_COUNTRY}
    return {"funding_type": "bank_transfer", "bank_transfer": bank_transfer}


def waiting_transfer(intent: dict[str, Any]) -> tuple[NextAction, int | None] | None:
    """A waiting transfer's instructions and the money in so far; None for other intents.

    Stripe keeps `amount_received` at 0 until the intent is paid in full: what came in so
    far is the amount less the instructions' `amount_remaining`.
    """
    found = _object(intent.get("next_action")).get("display_bank_transfer_instructions")
    if not isinstance(found, dict):
        return None
    amount, remaining = intent.get("amount"), found.get("amount_remaining")
    instructions = BankTransferInstructions(
        reference=_text(found, "reference") or "",
        currency=(_text(found, "currency") or _text(intent, "currency") or "").upper(),
        amount_remaining=remaining if isinstance(remaining, int) else 0,
        hosted_instructions_url=_text(found, "hosted_instructions_url"),
        addresses=tuple(
            _address(address)
            for address in found.get("financial_addresses") or ()
            if isinstance(address, dict)
        ),
    )
    action = NextAction(NextActionType.BANK_TRANSFER_INSTRUCTIONS, bank_transfer=instructions)
    received = (
        amount - remaining if isinstance(amount, int) and isinstance(remaining, int) else None
    )
    return action, received


def _address(address: dict[str, Any]) -> BankAddress:
    """One financial address; each type keeps its details under its own key, some optional."""
    kind = _text(address, "type") or ""
    details = _object(address.get(kind))
    bank = _object(details.get("bank_address"))
    return BankAddress(
        type=kind,
        iban=_text(details, "iban"),
        bic=_text(details, "bic") or _text(details, "swift_code"),
        # SPEI's account is its CLABE; Zengin and ABA name theirs account_number.
        account_number=_text(details, "account_number") or _text(details, "clabe"),
        routing_number=_text(details, "routing_number") or _text(details, "bank_code"),
        sort_code=_text(details, "sort_code"),
        account_holder_name=_text(details, "account_holder_name"),
        bank_name=_text(details, "bank_name"),
        country=_text(details, "country") or _text(bank, "country"),
    )


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    return value if isinstance(value, str) else None
