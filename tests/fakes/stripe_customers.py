"""The fake Stripe account's Customers, attached PaymentMethods and SetupIntents.

Built from Stripe's examples like the rest of the ledger. Attaching a test token
(`pm_card_visa`) makes a new PaymentMethod with its own id, as Stripe does; charging it
needs its customer, and it charges as its token does. Detaching is permanent.
"""

import copy
import secrets
import time
from dataclasses import dataclass, field

from tests.fakes.stripe_cash_balance import CashBalances
from tests.fakes.stripe_examples import Json, example
from tests.fakes.stripe_ledger import (
    CARDS,
    DECLINES,
    ParameterError,
    StripeFailure,
    StripeLedger,
    invalid_request,
)

CUSTOMER_PARAMS = {"metadata", "email", "name", "description", "invoice_settings"}
SETUP_INTENT_PARAMS = {"customer", "usage", "automatic_payment_methods", "metadata"}


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _missing(kind: str, object_id: str, param: str) -> ParameterError:
    message = f"No such {kind}: '{object_id}'"
    return ParameterError(400, invalid_request(message, "resource_missing", param))


def _refuse_unknown(params: Json, allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            message = f"Received unknown parameter: {name}"
            raise ParameterError(400, invalid_request(message, "parameter_unknown", name))


@dataclass
class CustomerLedger:
    ledger: StripeLedger
    customers: dict[str, Json] = field(default_factory=dict)
    payment_methods: dict[str, Json] = field(default_factory=dict)
    # A saved PaymentMethod's id -> the test token it was made from (how it charges).
    tokens: dict[str, str] = field(default_factory=dict)
    setup_intents: dict[str, Json] = field(default_factory=dict)
    cash: CashBalances = field(init=False)

    def __post_init__(self) -> None:
        self.cash = CashBalances(self.ledger)

    def create_customer(self, params: Json) -> Json:
        _refuse_unknown(params, CUSTOMER_PARAMS)
        customer = example(
            "customer",
            id=_new_id("cus"),
            created=int(time.time()),
            discount=None,
            metadata=params.get("metadata", {}),
            email=params.get("email"),
            name=params.get("name"),
        )
        self.customers[customer["id"]] = customer
        return customer

    def update_customer(self, customer_id: str, params: Json) -> Json:
        _refuse_unknown(params, CUSTOMER_PARAMS)
        customer = self._customer(customer_id, "id")
        default = params.get("invoice_settings", {}).get("default_payment_method")
        if default:
            self._attached(default, customer_id, "invoice_settings[default_payment_method]")
        if default is not None:
            customer["invoice_settings"]["default_payment_method"] = default or None
        return customer

    def attach(self, method_id: str, params: Json) -> Json:
        customer_id = params.get("customer", "")
        self._customer(customer_id, "customer")
        saved = self.payment_methods.get(method_id)
        if saved is None:
            return self._save_token(method_id, customer_id)
        if saved["customer"] not in (None, customer_id) or method_id not in self.tokens:
            message = "The payment method you provided has already been attached to a customer."
            raise StripeFailure(400, invalid_request(message))
        if saved["customer"] is None:
            message = "This PaymentMethod was previously detached and cannot be attached again."
            raise StripeFailure(400, invalid_request(message))
        return saved

    def detach(self, method_id: str) -> Json:
        saved = self.payment_methods.get(method_id)
        if saved is None:
            raise _missing("payment_method", method_id, "payment_method")
        if saved["customer"] is None:
            message = "The payment method you provided is not attached to a customer."
            raise StripeFailure(400, invalid_request(message))
        saved["customer"] = None
        return saved

    def create_setup_intent(self, params: Json) -> Json:
        _refuse_unknown(params, SETUP_INTENT_PARAMS)
        self._customer(params.get("customer", ""), "customer")
        intent_id = _new_id("seti")
        intent = example(
            "setup_intent",
            id=intent_id,
            client_secret=f"{intent_id}_secret_{secrets.token_hex(16)}",
            created=int(time.time()),
            customer=params["customer"],
            usage=params.get("usage", "off_session"),
            automatic_payment_methods={"enabled": True, "allow_redirects": "always"},
            last_setup_error=None,
            next_action=None,
            payment_method_configuration_details=None,
            metadata=params.get("metadata", {}),
        )
        self.setup_intents[intent_id] = intent
        return intent

    def create_payment_intent(self, params: Json) -> Json:
        """A PaymentIntent; a saved method needs its customer and charges as its token."""
        if params.get("payment_method_data", {}).get("type") == "customer_balance":
            return self.cash.create_intent(params, self.customers.get(params.get("customer", "")))
        method = params.get("payment_method", "")
        if method not in self.tokens:
            return self.ledger.create_payment_intent(params)
        customer_id = params.get("customer", "")
        self._attached(method, customer_id, "payment_method")
        as_token = {k: v for k, v in params.items() if k not in ("customer", "off_session")}
        try:
            intent = self.ledger.create_payment_intent(
                {**as_token, "payment_method": self.tokens[method]}
            )
        except StripeFailure as failure:
            self._as_saved(failure.error["payment_intent"], method, customer_id)
            failure.error["payment_method"] = copy.deepcopy(self.payment_methods[method])
            raise
        self._as_saved(self.ledger.payment_intents[intent["id"]], method, customer_id)
        return self._as_saved(intent, method, customer_id)

    def fund_cash_balance(self, customer_id: str, params: Json) -> Json:
        return self.cash.fund(self.customers.get(customer_id), params)

    def _as_saved(self, intent: Json, method: str, customer_id: str) -> Json:
        intent.update(payment_method=method, customer=customer_id)
        return intent

    def _save_token(self, token: str, customer_id: str) -> Json:
        if token not in CARDS:
            raise _missing("PaymentMethod", token, "payment_method")
        if token in DECLINES:
            # Stripe checks a card as it is attached: a declining one is refused.
            error = {"type": "card_error", "code": "card_declined", "message": DECLINES[token][1]}
            raise StripeFailure(402, error)
        brand, last4 = CARDS[token]
        saved = example("payment_method", id=_new_id("pm"), customer=customer_id, metadata={})
        saved["card"].update(brand=brand, display_brand=brand, last4=last4, wallet=None)
        saved["card"]["fingerprint"] = secrets.token_hex(8)
        self.payment_methods[saved["id"]] = saved
        self.tokens[saved["id"]] = token
        return saved

    def _customer(self, customer_id: str, param: str) -> Json:
        if customer_id not in self.customers:
            raise _missing("customer", customer_id, param)
        return self.customers[customer_id]

    def _attached(self, method_id: str, customer_id: str, param: str) -> None:
        saved = self.payment_methods.get(method_id)
        if saved is None or saved["customer"] != customer_id:
            raise _missing("PaymentMethod", method_id, param)
