"""The fake Stripe account's objects (PaymentIntents, charges, refunds) and Stripe's rules.

Every object starts as a copy of Stripe's own example (`stripe_examples`) and is then set
to the scenario's state, keeping Stripe's shapes: conditional fields are left out (a refund
that has not failed has no `failure_reason`), expandable fields are ids unless the request
expanded them, and a PaymentMethod or charge of another type than card has no `card`.
"""

import copy
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.stripe_examples import Json, example, without

# Stripe's test PaymentMethods and the cards behind them (docs.stripe.com/testing).
CARDS = {
    "pm_card_visa": ("visa", "4242"),
    "pm_card_mastercard": ("mastercard", "4444"),
    "pm_card_chargeDeclined": ("visa", "0002"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995"),
    "pm_card_authenticationRequired": ("visa", "3184"),
    "pm_card_refundFail": ("visa", "5126"),
}
DECLINES = {
    "pm_card_chargeDeclined": ("generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
}
NEEDS_AUTHENTICATION = {"pm_card_authenticationRequired"}
# Its refunds succeed, then fail later with a failure_reason (card 4000000000005126).
REFUNDS_FAIL = {"pm_card_refundFail"}
# Stripe's ACH Direct Debit test tokens: the debit is `processing`, then settles or fails.
BANK_ACCOUNTS = {
    "pm_usBankAccount_success": ("6789", None),
    "pm_usBankAccount_accountClosed": (
        "1113",
        ("account_closed", "The customer's bank account has been closed."),
    ),
}
INTENT_PARAMS = {
    "amount",
    "currency",
    "payment_method",
    "confirm",
    "automatic_payment_methods",
    "description",
    "metadata",
    "expand",
    "return_url",
    "capture_method",
    # A saved method charged without the customer present (see stripe_customers).
    "customer",
    "off_session",
}
REFUND_PARAMS = {"payment_intent", "amount", "reason", "metadata", "expand"}
REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}


class StripeFailure(Exception):
    """An error answer in Stripe's shape, saved on the idempotency key like a success."""

    def __init__(self, status: int, error: Json) -> None:
        super().__init__(error["message"])
        self.status = status
        self.error = error


class ParameterError(StripeFailure):
    """Parameters that failed validation: Stripe saves no idempotent result for these."""


def invalid_request(message: str, code: str | None = None, param: str | None = None) -> Json:
    # Like Stripe's error object, code and param appear only when the error has them.
    error: Json = {
        "type": "invalid_request_error",
        "message": message,
        "code": code,
        "param": param,
    }
    return {name: value for name, value in error.items() if value is not None}


@dataclass
class StripeLedger:
    """What the account holds; only the fake's server thread changes it."""

    payment_intents: dict[str, Json] = field(default_factory=dict)
    charges: dict[str, Json] = field(default_factory=dict)
    refunds: dict[str, Json] = field(default_factory=dict)
    # Every event Stripe would create, newest last, whether any webhook delivered it or not.
    events: list[Json] = field(default_factory=list)

    def create_payment_intent(self, params: Json) -> Json:
        _check_intent_params(params)
        intent = _new_intent(params)
        self.payment_intents[intent["id"]] = intent
        if params.get("confirm") == "true":
            self._confirm(intent)
        return self._render(intent, params)

    def retrieve_payment_intent(self, intent_id: str, params: Json) -> Json:
        return self._render(_get(self.payment_intents, intent_id, "payment_intent"), params)

    def search_payment_intents(self, params: Json) -> Json:
        match = re.fullmatch(r"metadata\['(\w+)'\]:'([^']*)'", params.get("query", ""))
        if match is None:
            raise ParameterError(400, invalid_request("The fake only searches one metadata key."))
        name, value = match.groups()
        found = [i for i in self.payment_intents.values() if i["metadata"].get(name) == value]
        data = [self._render(intent, params, "data.") for intent in found]
        return {"object": "search_result", "data": data, "has_more": False, "next_page": None}

    def create_refund(self, params: Json) -> Json:
        _reject_unknown(params, REFUND_PARAMS)
        if params.get("reason", "duplicate") not in REFUND_REASONS:
            raise ParameterError(400, invalid_request("Invalid reason.", "parameter_invalid"))
        intent = self.payment_intents.get(params.get("payment_intent", ""))
        if intent is None:
            message = f"No such payment_intent: '{params.get('payment_intent')}'"
            raise ParameterError(
                400, invalid_request(message, "resource_missing", "payment_intent")
            )
        charge = self._refundable_charge(intent)
        amount = self._refund_amount(charge, params)
        refund = _new_refund(charge, amount, params)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
        self.refunds[refund["id"]] = refund
        return refund

    def retrieve_refund(self, refund_id: str) -> Json:
        return _get(self.refunds, refund_id, "refund")

    def list_refunds(self, params: Json) -> Json:
        wanted = params.get("payment_intent")
        data = [r for r in self.refunds.values() if r["payment_intent"] == wanted]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}

    def list_events(self, params: Json) -> Json:
        """GET /v1/events: newest first, `created[gt]`, `types[]`, `limit`, `starting_after`."""
        after = int((params.get("created") or {}).get("gt", 0))
        types = set(params.get("types") or ())
        found = [
            event
            for event in reversed(self.events)
            if event["created"] > after and (not types or event["type"] in types)
        ]
        if "starting_after" in params:
            ids = [event["id"] for event in found]
            found = found[ids.index(params["starting_after"]) + 1 :]
        limit = int(params.get("limit", 10))
        data = copy.deepcopy(found[:limit])
        return {"object": "list", "data": data, "has_more": len(found) > limit, "url": "/v1/events"}

    def advance(self) -> None:
        """What Stripe later does on its own: bank debits settle or fail, some refunds fail."""
        for intent in self.payment_intents.values():
            if intent["status"] == "processing":
                self._settle_debit(intent, self.charges[intent["latest_charge"]])
        for refund in self.refunds.values():
            self._settle_refund(refund, self.charges[refund["charge"]])

    def _confirm(self, intent: Json) -> None:
        method = intent["payment_method"]
        if method in NEEDS_AUTHENTICATION:
            # No charge yet: latest_charge stays null until the customer authenticates.
            intent.update(status="requires_action", next_action=_three_d_secure())
            return
        decline = DECLINES.get(method)
        charge = _new_charge(intent, decline)
        self.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        if method in BANK_ACCOUNTS:
            # A bank debit takes days: Stripe answers processing, the outcome comes later.
            intent["status"] = "processing"
            return
        if decline is None and intent["capture_method"] == "manual":
            hold(intent, charge)
            return
        if decline is None:
            intent.update(status="succeeded", amount_received=intent["amount"])
            return
        error = _card_error(decline, charge)
        intent.update(status="requires_payment_method", last_payment_error=error)
        # The error's PaymentIntent is not expanded: its latest_charge is the charge's id.
        raise StripeFailure(402, {**error, "payment_intent": copy.deepcopy(intent)})

    def _settle_debit(self, intent: Json, charge: Json) -> None:
        _, failure = BANK_ACCOUNTS[intent["payment_method"]]
        if failure is None:
            charge.update(status="succeeded", paid=True, captured=True)
            charge.update(amount_captured=charge["amount"], balance_transaction=_new_id("txn"))
            intent.update(status="succeeded", amount_received=intent["amount"])
            self.record_event("payment_intent.succeeded", intent)
            return
        code, message = failure
        charge.update(status="failed", failure_code=code, failure_message=message)
        error = _bank_error(failure, intent["payment_method"])
        intent.update(status="requires_payment_method", last_payment_error=error)
        self.record_event("payment_intent.payment_failed", intent)

    def record_event(self, event_type: str, obj: Json) -> None:
        """Keep the event Stripe creates (its webhook may or may not reach anyone).

        The event carries the object as it was at that moment, as Stripe's do.
        """
        event = example("event", id=_new_id("evt"), type=event_type, created=int(time.time()))
        event.update(data={"object": copy.deepcopy(obj)}, api_version="2025-10-29.clover")
        self.events.append(event)

    def _settle_refund(self, refund: Json, charge: Json) -> None:
        if refund["status"] == "pending":
            refund["status"] = "succeeded"
        elif refund["status"] == "succeeded" and charge["payment_method"] in REFUNDS_FAIL:
            # Only now does the refund carry failure_reason; the money goes back to the charge.
            refund.update(status="failed", failure_reason="expired_or_canceled_card")
            refund["failure_balance_transaction"] = _new_id("txn")
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = False

    def _render(self, intent: Json, params: Json, prefix: str = "") -> Json:
        # Expandable fields are ids unless the request asked for the object (`expand[]`).
        rendered = copy.deepcopy(intent)
        if f"{prefix}latest_charge" in params.get("expand", []) and intent["latest_charge"]:
            rendered["latest_charge"] = copy.deepcopy(self.charges[intent["latest_charge"]])
        return rendered

    def _refundable_charge(self, intent: Json) -> Json:
        if intent["status"] != "succeeded":
            message = f"PaymentIntent {intent['id']} does not have a successful charge to refund."
            raise StripeFailure(400, invalid_request(message, "payment_intent_unexpected_state"))
        charge: Json = self.charges[intent["latest_charge"]]
        if charge["refunded"]:
            message = f"Charge {charge['id']} has already been refunded."
            raise StripeFailure(400, invalid_request(message, "charge_already_refunded"))
        return charge

    def _refund_amount(self, charge: Json, params: Json) -> int:
        unrefunded = charge["amount_captured"] - charge["amount_refunded"]
        amount = _positive_int(params.get("amount", str(unrefunded)), "amount")
        if amount > unrefunded:
            message = (
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({unrefunded})"
            )
            raise StripeFailure(400, invalid_request(message, "amount_too_large", "amount"))
        return amount


def _check_intent_params(params: Json) -> None:
    # payment_method_types is gone in the pinned API version: it is an unknown parameter.
    _reject_unknown(params, INTENT_PARAMS)
    _positive_int(params.get("amount"), "amount")
    if not re.fullmatch(r"[a-z]{3}", params.get("currency", "")):
        message = "Invalid currency: currencies are three lower-case letters."
        raise ParameterError(400, invalid_request(message, "parameter_invalid", "currency"))
    _check_redirects(params)
    method = params.get("payment_method")
    if method is None and params.get("confirm") != "true":
        return  # an intent the customer confirms later (Payment Element)
    check_method(method)


def check_method(method: Any) -> None:
    """Stripe's answer to a PaymentMethod id it does not know."""
    if method not in CARDS and method not in BANK_ACCOUNTS:
        message = f"No such PaymentMethod: '{method}'"
        raise ParameterError(400, invalid_request(message, "resource_missing", "payment_method"))


def _check_redirects(params: Json) -> None:
    # Confirming with redirect-capable methods allowed needs somewhere to come back to.
    automatic = params.get("automatic_payment_methods", {})
    allows_redirects = automatic.get("allow_redirects") != "never"
    if params.get("confirm") == "true" and allows_redirects and "return_url" not in params:
        message = "A return_url is required to confirm with redirect-based payment methods."
        raise ParameterError(400, invalid_request(message, "parameter_missing", "return_url"))


def _reject_unknown(params: Json, allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            message = f"Received unknown parameter: {name}"
            raise ParameterError(400, invalid_request(message, "parameter_unknown", name))


def _positive_int(value: Any, param: str) -> int:
    if not isinstance(value, str) or not value.isdigit() or int(value) == 0:
        message = f"Invalid positive integer: {value}"
        raise ParameterError(400, invalid_request(message, "parameter_invalid_integer", param))
    return int(value)


def _get(objects: dict[str, Json], object_id: str, kind: str) -> Json:
    if object_id not in objects:
        message = f"No such {kind}: '{object_id}'"
        raise StripeFailure(404, invalid_request(message, "resource_missing", "id"))
    return objects[object_id]


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _new_intent(params: Json) -> Json:
    intent_id = _new_id("pi")
    automatic = params.get("automatic_payment_methods", {})
    return example(
        "payment_intent",
        id=intent_id,
        amount=int(params["amount"]),
        amount_received=0,
        automatic_payment_methods={
            "enabled": automatic.get("enabled") == "true",
            "allow_redirects": automatic.get("allow_redirects", "always"),
        },
        canceled_at=None,
        client_secret=f"{intent_id}_secret_{secrets.token_hex(12)}",
        created=int(time.time()),
        currency=params["currency"],
        description=params.get("description"),
        # Null until a confirmation fails / needs the customer, as Stripe sends them.
        last_payment_error=None,
        latest_charge=None,
        metadata=params.get("metadata", {}),
        next_action=None,
        # An id: the request would have to expand it to get the PaymentMethod.
        payment_method=params.get("payment_method"),
        payment_method_types=["card", "us_bank_account"],
        processing=None,
        shipping=None,
        capture_method=params.get("capture_method", "automatic"),
        amount_capturable=0,
        cancellation_reason=None,
        status="requires_confirmation" if "payment_method" in params else "requires_payment_method",
        transfer_data=None,
    )


def hold(intent: Json, charge: Json) -> None:
    """An authorized, uncaptured card charge: Stripe holds it for seven days."""
    intent.update(status="requires_capture", amount_capturable=intent["amount"])
    charge.update(captured=False, amount_captured=0, balance_transaction=None)
    charge["payment_method_details"]["card"]["capture_before"] = int(time.time()) + 7 * 86400


def _new_charge(intent: Json, decline: tuple[str, str] | None) -> Json:
    method = intent["payment_method"]
    debit = method in BANK_ACCOUNTS
    captured = decline is None and not debit
    charge = example(
        "charge",
        id=_new_id("ch"),
        amount=intent["amount"],
        amount_captured=intent["amount"] if captured else 0,
        amount_refunded=0,
        balance_transaction=_new_id("txn") if captured else None,
        captured=captured,
        created=int(time.time()),
        currency=intent["currency"],
        description=intent["description"],
        failure_code="card_declined" if decline else None,
        failure_message=decline[1] if decline else None,
        metadata=intent["metadata"],
        outcome=_outcome(decline),
        paid=captured,
        payment_intent=intent["id"],
        payment_method=method,
        payment_method_details=_method_details(method),
        refunded=False,
        source=None,
        status="failed" if decline else "pending" if debit else "succeeded",
        transfer_data=None,
    )
    # The pinned API version leaves the refunds list out of charges (refund.* events carry them).
    return without(charge, "refunds")


def _outcome(decline: tuple[str, str] | None) -> Json:
    outcome: Json = example("charge")["outcome"]
    if decline is None:
        outcome.update(network_status="approved_by_network", type="authorized")
        outcome.update(risk_level="normal", seller_message="Payment complete.")
        return outcome
    outcome.update(network_status="declined_by_network", type="issuer_declined")
    outcome.update(reason=decline[0], risk_level="normal", seller_message=decline[1])
    return outcome


def _method_details(method: str) -> Json:
    """The charge's payment_method_details: `card` only for a card, else its own type's key."""
    if method in BANK_ACCOUNTS:
        return {"type": "us_bank_account", "us_bank_account": _bank_account(method)}
    details: Json = example("charge")["payment_method_details"]
    details["card"].update(_card(method), wallet=None)
    return details


def _payment_method(method: str) -> Json:
    """The PaymentMethod object (as in a card error), built from Stripe's example."""
    payment_method = example("payment_method", id=method, customer=None, metadata={})
    if method in BANK_ACCOUNTS:
        payment_method.update(type="us_bank_account", us_bank_account=_bank_account(method))
        return without(payment_method, "card")
    payment_method["card"].update(_card(method), display_brand=CARDS[method][0], wallet=None)
    return payment_method


def _card(method: str) -> Json:
    brand, last4 = CARDS[method]
    # Like Stripe, more than brand and last4: the adapter must keep only those two.
    return {"brand": brand, "last4": last4, "exp_year": 2034, "fingerprint": secrets.token_hex(8)}


def _bank_account(method: str) -> Json:
    return {
        "account_holder_type": "individual",
        "account_type": "checking",
        "bank_name": "STRIPE TEST BANK",
        "fingerprint": secrets.token_hex(8),
        "last4": BANK_ACCOUNTS[method][0],
        "routing_number": "110000000",
    }


def _three_d_secure() -> Json:
    return {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}


def _card_error(decline: tuple[str, str], charge: Json) -> Json:
    # Stripe's error object: decline_code and charge appear only for card issuer declines.
    decline_code, message = decline
    return {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": decline_code,
        "message": message,
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "charge": charge["id"],
        "payment_method": _payment_method(charge["payment_method"]),
    }


def _bank_error(failure: tuple[str, str], method: str) -> Json:
    # No decline_code and no charge: those are for card issuer declines only.
    code, message = failure
    return {
        "type": "invalid_request_error",
        "code": code,
        "message": message,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "payment_method": _payment_method(method),
    }


def _new_refund(charge: Json, amount: int, params: Json) -> Json:
    method_type = charge["payment_method_details"]["type"]
    refund = example(
        "refund",
        id=_new_id("re"),
        amount=amount,
        balance_transaction=_new_id("txn"),
        charge=charge["id"],
        created=int(time.time()),
        currency=charge["currency"],
        destination_details={"type": method_type, method_type: {"type": "refund"}},
        metadata=params.get("metadata", {}),
        payment_intent=charge["payment_intent"],
        reason=params.get("reason"),
        # A card refund is succeeded at once; a bank refund stays pending for days.
        status="pending" if method_type == "us_bank_account" else "succeeded",
    )
    # Stripe sends failure_reason only once a refund has failed.
    return without(refund, "failure_reason", "failure_balance_transaction")
