"""The fake Stripe account's objects (PaymentIntents, charges, refunds) and Stripe's rules."""

import copy
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

# Stripe's test PaymentMethods and the cards behind them (docs.stripe.com/testing).
CARDS = {
    "pm_card_visa": ("visa", "4242"),
    "pm_card_mastercard": ("mastercard", "4444"),
    "pm_card_chargeDeclined": ("visa", "0002"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995"),
    "pm_card_authenticationRequired": ("visa", "3184"),
}
DECLINES = {
    "pm_card_chargeDeclined": ("generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
}
NEEDS_AUTHENTICATION = {"pm_card_authenticationRequired"}
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
    return {"type": "invalid_request_error", "message": message, "code": code, "param": param}


@dataclass
class StripeLedger:
    """What the account holds; only the fake's server thread changes it."""

    payment_intents: dict[str, Json] = field(default_factory=dict)
    charges: dict[str, Json] = field(default_factory=dict)
    refunds: dict[str, Json] = field(default_factory=dict)

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

    def _confirm(self, intent: Json) -> None:
        method = intent["payment_method"]
        if method in NEEDS_AUTHENTICATION:
            intent["status"] = "requires_action"
            intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            return
        decline = DECLINES.get(method)
        charge = _new_charge(intent, decline)
        self.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        if decline is None:
            intent.update(status="succeeded", amount_received=intent["amount"])
            return
        error = _card_error(decline, charge)
        intent.update(status="requires_payment_method", last_payment_error=error)
        raise StripeFailure(402, {**error, "payment_intent": copy.deepcopy(intent)})

    def _render(self, intent: Json, params: Json, prefix: str = "") -> Json:
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
    if method not in CARDS:
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
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": int(params["amount"]),
        "amount_received": 0,
        "currency": params["currency"],
        "status": "requires_confirmation",
        "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
        "payment_method": params["payment_method"],
        "description": params.get("description"),
        "metadata": params.get("metadata", {}),
        "latest_charge": None,
        "last_payment_error": None,
        "next_action": None,
        "livemode": False,
        "created": int(time.time()),
    }


def _new_charge(intent: Json, decline: tuple[str, str] | None) -> Json:
    return {
        "id": _new_id("ch"),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": 0 if decline else intent["amount"],
        "amount_refunded": 0,
        "currency": intent["currency"],
        "payment_intent": intent["id"],
        "payment_method": intent["payment_method"],
        "payment_method_details": {"type": "card", "card": _card(intent["payment_method"])},
        "status": "failed" if decline else "succeeded",
        "paid": decline is None,
        "captured": decline is None,
        "refunded": False,
        "failure_code": "card_declined" if decline else None,
        "metadata": intent["metadata"],
        "created": int(time.time()),
    }


def _card(method: str) -> Json:
    brand, last4 = CARDS[method]
    # Like Stripe, more than brand and last4: the adapter must keep only those two.
    return {
        "brand": brand,
        "last4": last4,
        "exp_month": 12,
        "exp_year": 2034,
        "funding": "credit",
        "country": "US",
        "fingerprint": secrets.token_hex(8),
    }


def _card_error(decline: tuple[str, str], charge: Json) -> Json:
    decline_code, message = decline
    return {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": decline_code,
        "message": message,
        "charge": charge["id"],
        "payment_method": {
            "id": charge["payment_method"],
            "object": "payment_method",
            "type": "card",
            "card": charge["payment_method_details"]["card"],
        },
    }


def _new_refund(charge: Json, amount: int, params: Json) -> Json:
    return {
        "id": _new_id("re"),
        "object": "refund",
        "amount": amount,
        "currency": charge["currency"],
        "charge": charge["id"],
        "payment_intent": charge["payment_intent"],
        "status": "succeeded",
        "reason": params.get("reason"),
        "failure_reason": None,
        "metadata": params.get("metadata", {}),
        "created": int(time.time()),
    }
