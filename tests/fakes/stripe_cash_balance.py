"""The fake's `customer_balance` bank transfers: PaymentIntents that wait for a customer's money.

Built as Stripe documents them (docs.stripe.com/payments/bank-transfers): the intent is
confirmed at once and waits in `requires_action` with `next_action.display_bank_transfer_
instructions`; money sent to the customer's cash balance (here by the test helper
`fund_cash_balance`) is applied to the waiting intent whose reference it quotes, or else the
oldest. Stripe keeps `amount_received` at 0 until the intent is paid in full; a partial
payment lowers `amount_remaining` and sends `payment_intent.partially_funded`, the last one
`payment_intent.succeeded`. What is left over stays on the customer's balance, and so does
money already applied to an intent that is then canceled.

fixtures3.json has no example of the instructions (its PaymentIntent's `next_action` is
`{"type": "type"}`): their shapes follow the SDK's `PaymentIntent.NextAction` classes.
"""

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.stripe_examples import Json, example, without
from tests.fakes.stripe_ledger import ParameterError, StripeFailure, StripeLedger, invalid_request

# Stripe's bank-transfer type per currency and the financial address it gives out.
TRANSFER_TYPES = {
    "eur": "eu_bank_transfer",
    "gbp": "gb_bank_transfer",
    "usd": "us_bank_transfer",
    "jpy": "jp_bank_transfer",
    "mxn": "mx_bank_transfer",
}
EU_COUNTRIES = {"DE", "FR", "IE", "NL", "BE", "ES"}
_HOLDER = "Fake Stripe Payments Europe Ltd"


def _address(currency: str, country: str | None) -> Json:
    bank_address = {"city": None, "country": country or "US", "line1": None, "line2": None}
    bank_address.update(postal_code=None, state=None)
    common = {"account_holder_address": dict(bank_address), "bank_address": bank_address}
    if currency == "eur":
        iban = {"iban": f"{country}0000000000{secrets.randbelow(10**10):010d}", "bic": "SXPYDEHH"}
        details = {**common, **iban, "country": country, "account_holder_name": _HOLDER}
        return {"type": "iban", "iban": details, "supported_networks": ["sepa"]}
    if currency == "gbp":
        details = {**common, "account_number": f"{secrets.randbelow(10**8):08d}"}
        details.update(sort_code="231470", account_holder_name=_HOLDER)
        return {"type": "sort_code", "sort_code": details, "supported_networks": ["bacs", "fps"]}
    if currency == "usd":
        details = {**common, "account_number": f"{secrets.randbelow(10**12):012d}"}
        details.update(routing_number="101019644", bank_name="Lead Bank")
        details.update(account_holder_name=_HOLDER, account_type="checking")
        return {"type": "aba", "aba": details, "supported_networks": ["ach", "domestic_wire_us"]}
    if currency == "jpy":
        details = {**common, "account_number": f"{secrets.randbelow(10**7):07d}"}
        details.update(bank_code="0009", branch_code="950", bank_name="三井住友銀行")
        details.update(branch_name="東京第二", account_holder_name=_HOLDER, account_type="futsu")
        return {"type": "zengin", "zengin": details, "supported_networks": ["zengin"]}
    details = {**common, "clabe": f"0021800{secrets.randbelow(10**11):011d}", "bank_code": "002"}
    details.update(bank_name="BANAMEX", account_holder_name=_HOLDER)
    return {"type": "spei", "spei": details, "supported_networks": ["spei"]}


@dataclass
class CashBalances:
    """Customers' cash balances and the bank-transfer intents waiting on them."""

    ledger: StripeLedger
    # customer id -> currency -> money not applied to any intent
    balances: dict[str, dict[str, int]] = field(default_factory=dict)
    transactions: list[Json] = field(default_factory=list)

    def create_intent(self, params: Json, customer: Json | None) -> Json:
        """A `customer_balance` PaymentIntent, confirmed at once (`confirm=true`)."""
        if customer is None:
            message = f"No such customer: '{params.get('customer')}'"
            raise ParameterError(400, invalid_request(message, "resource_missing", "customer"))
        options = params.get("payment_method_options", {}).get("customer_balance", {})
        transfer = options.get("bank_transfer", {})
        currency = params.get("currency", "")
        expected = TRANSFER_TYPES.get(currency)
        if options.get("funding_type") != "bank_transfer" or transfer.get("type") != expected:
            message = f"The bank transfer type must be {expected} for {currency}."
            raise ParameterError(400, invalid_request(message, "parameter_invalid", "currency"))
        country = transfer.get("eu_bank_transfer", {}).get("country")
        if currency == "eur" and country not in EU_COUNTRIES:
            message = "An eu_bank_transfer needs the country of its account."
            raise ParameterError(400, invalid_request(message, "parameter_missing"))
        if params.get("confirm") != "true":
            raise ParameterError(400, invalid_request("The fake confirms transfers at once."))
        core = {k: v for k, v in params.items() if not k.startswith(("payment_method_", "allowed"))}
        intent = self.ledger.create_payment_intent({**core, "confirm": "false"})
        stored = self.ledger.payment_intents[intent["id"]]
        stored.update(
            customer=customer["id"],
            payment_method=f"pm_{secrets.token_hex(12)}",
            payment_method_types=["customer_balance"],
            automatic_payment_methods=None,
            payment_method_options={"customer_balance": options},
            status="requires_action",
            next_action=_instructions(stored, currency, country),
        )
        self._apply_balance(customer["id"], currency)
        return self.ledger._render(stored, params)

    def fund(self, customer: Json | None, params: Json) -> Json:
        """POST /v1/test_helpers/customers/{id}/fund_cash_balance: money in, applied at once."""
        if customer is None:
            raise StripeFailure(404, invalid_request("No such customer.", "resource_missing", "id"))
        amount, currency = params.get("amount", ""), params.get("currency", "")
        if not amount.isdigit() or int(amount) == 0 or currency not in TRANSFER_TYPES:
            raise ParameterError(
                400, invalid_request("Invalid amount or currency.", "parameter_invalid")
            )
        balance = self.balances.setdefault(customer["id"], {})
        balance[currency] = balance.get(currency, 0) + int(amount)
        transaction = example(
            "customer_cash_balance_transaction",
            id=f"ccsbtxn_{secrets.token_hex(12)}",
            created=int(time.time()),
            currency=currency,
            customer=customer["id"],
            ending_balance=balance[currency],
            net_amount=int(amount),
            type="funded",
        )
        funded = transaction["funded"]["bank_transfer"]
        funded.update(reference=params.get("reference"), type=TRANSFER_TYPES[currency])
        self.transactions.append(transaction)
        self._apply_balance(customer["id"], currency, params.get("reference"))
        return transaction

    def canceled(self, intent: Json) -> None:
        """Money already applied to a canceled transfer goes back to the customer's balance."""
        instructions = _waiting(intent)
        if instructions is None:
            return
        applied = intent["amount"] - instructions["amount_remaining"]
        balance = self.balances.setdefault(intent["customer"], {})
        balance[intent["currency"]] = balance.get(intent["currency"], 0) + applied
        intent["next_action"] = None

    def _apply_balance(self, customer_id: str, currency: str, reference: str | None = None) -> None:
        waiting = [
            intent
            for intent in self.ledger.payment_intents.values()
            if intent.get("customer") == customer_id
            and intent["currency"] == currency
            and intent["status"] == "requires_action"
            and _waiting(intent) is not None
        ]
        # The intent whose reference the transfer quotes first, then the oldest.
        waiting.sort(key=lambda i: (_waiting(i)["reference"] != reference, i["created"]))
        balance = self.balances.setdefault(customer_id, {})
        for intent in waiting:
            available = balance.get(currency, 0)
            if available == 0:
                return
            instructions = _waiting(intent)
            assert instructions is not None
            applied = min(available, instructions["amount_remaining"])
            balance[currency] = available - applied
            instructions["amount_remaining"] -= applied
            if instructions["amount_remaining"]:
                self.ledger.record_event("payment_intent.partially_funded", intent)
            else:
                self._paid(intent)

    def _paid(self, intent: Json) -> None:
        charge = example(
            "charge",
            id=f"ch_{secrets.token_hex(12)}",
            amount=intent["amount"],
            amount_captured=intent["amount"],
            amount_refunded=0,
            balance_transaction=f"txn_{secrets.token_hex(12)}",
            captured=True,
            created=int(time.time()),
            currency=intent["currency"],
            customer=intent["customer"],
            description=intent["description"],
            failure_code=None,
            failure_message=None,
            metadata=intent["metadata"],
            paid=True,
            payment_intent=intent["id"],
            payment_method=intent["payment_method"],
            payment_method_details={"type": "customer_balance", "customer_balance": {}},
            refunded=False,
            source=None,
            status="succeeded",
            transfer_data=None,
        )
        self.ledger.charges[charge["id"]] = without(charge, "refunds")
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            latest_charge=charge["id"],
            next_action=None,
        )
        self.ledger.record_event("payment_intent.succeeded", intent)


def _waiting(intent: Json) -> Any:
    next_action = intent.get("next_action") or {}
    return next_action.get("display_bank_transfer_instructions")


def _instructions(intent: Json, currency: str, country: str | None) -> Json:
    reference = secrets.token_hex(6).upper()
    return {
        "type": "display_bank_transfer_instructions",
        "display_bank_transfer_instructions": {
            "amount_remaining": intent["amount"],
            "currency": currency,
            "financial_addresses": [_address(currency, country)],
            "hosted_instructions_url": (
                f"https://payments.stripe.com/bank_transfers/instructions/{reference}"
            ),
            "reference": reference,
            "type": TRANSFER_TYPES[currency],
        },
    }
