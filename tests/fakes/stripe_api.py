"""A Stripe-compatible HTTP API for tests: the ledger's objects behind Stripe's wire rules.

Form-encoded requests, bearer keys, idempotency keys replayed as Stripe does (same
parameters: the stored answer; other parameters: `idempotency_error`; parameters that
failed validation: nothing stored), and injectable faults around the commit.
"""

import asyncio
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes import stripe_lifecycle
from tests.fakes.stripe_customers import CustomerLedger
from tests.fakes.stripe_disputes import DisputeLedger
from tests.fakes.stripe_ledger import Json, ParameterError, StripeFailure, StripeLedger

Handler = Callable[[Request, Json], Json]
SLOW_SECONDS = 1.5
_KEY_REUSED = (
    "Keys for idempotent requests can only be used with the same parameters they were first "
    "used with. Try using a key other than '{key}' if you meant to execute a different request."
)


@dataclass
class Fault:
    path_prefix: str
    # "before_commit": 503, nothing done. "after_commit": done and stored, then 500.
    # "hang": done and stored, then the answer never comes (until the client gives up).
    # "slow": done and stored, answered after SLOW_SECONDS.
    mode: str
    times: int


@dataclass
class FakeStripe:
    """Stripe's behaviour where our money rules depend on it, kept in memory."""

    ledger: StripeLedger = field(default_factory=StripeLedger)
    # idempotency key -> (parameter fingerprint, status, body)
    idempotent: dict[str, tuple[str, int, bytes]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    customers: CustomerLedger = field(init=False)
    disputes: DisputeLedger = field(init=False)

    def __post_init__(self) -> None:
        self.customers = CustomerLedger(self.ledger)
        self.disputes = DisputeLedger(self.ledger)

    @property
    def intents(self) -> dict[str, Json]:
        return self.ledger.payment_intents

    @property
    def refunds(self) -> dict[str, Json]:
        return self.ledger.refunds

    @property
    def charges_created(self) -> int:
        """Charges attempted on a card (declined ones included), as Stripe would bill them."""
        return len(self.ledger.charges)

    def fail_next(self, path_prefix: str, mode: str, times: int = 1) -> None:
        self.faults.append(Fault(path_prefix, mode, times))

    def app(self) -> Starlette:
        ledger, customers = self.ledger, self.customers
        routes = [
            ("/v1/payment_intents", "POST", lambda _, p: customers.create_payment_intent(p)),
            ("/v1/payment_intents/search", "GET", lambda _, p: ledger.search_payment_intents(p)),
            (
                "/v1/payment_intents/{id}",
                "GET",
                lambda r, p: ledger.retrieve_payment_intent(r.path_params["id"], p),
            ),
            *(
                (f"/v1/payment_intents/{{id}}/{action}", "POST", _intent_action(ledger, action))
                for action in ("confirm", "capture")
            ),
            ("/v1/payment_intents/{id}/cancel", "POST", self._cancel),
            ("/v1/refunds", "POST", lambda _, p: ledger.create_refund(p)),
            ("/v1/refunds", "GET", lambda _, p: ledger.list_refunds(p)),
            ("/v1/refunds/{id}", "GET", lambda r, _: ledger.retrieve_refund(r.path_params["id"])),
            *self._customer_routes(),
            *self._dispute_routes(),
            ("/v1/events", "GET", lambda _, p: ledger.list_events(p)),
        ]
        return Starlette(
            routes=[
                Route(path, self._endpoint(handler), methods=[method])
                for path, method, handler in routes
            ]
        )

    def _customer_routes(self) -> list[tuple[str, str, Handler]]:
        customers = self.customers
        return [
            ("/v1/customers", "POST", lambda _, p: customers.create_customer(p)),
            (
                "/v1/customers/{id}",
                "POST",
                lambda r, p: customers.update_customer(r.path_params["id"], p),
            ),
            (
                "/v1/payment_methods/{id}/attach",
                "POST",
                lambda r, p: customers.attach(r.path_params["id"], p),
            ),
            (
                "/v1/payment_methods/{id}/detach",
                "POST",
                lambda r, _: customers.detach(r.path_params["id"]),
            ),
            ("/v1/setup_intents", "POST", lambda _, p: customers.create_setup_intent(p)),
            (
                "/v1/test_helpers/customers/{id}/fund_cash_balance",
                "POST",
                lambda r, p: customers.fund_cash_balance(r.path_params["id"], p),
            ),
        ]

    def _dispute_routes(self) -> list[tuple[str, str, Handler]]:
        disputes = self.disputes
        return [
            ("/v1/disputes/{id}", "GET", lambda r, _: disputes.retrieve(r.path_params["id"])),
            ("/v1/disputes/{id}", "POST", lambda r, p: disputes.update(r.path_params["id"], p)),
            ("/v1/disputes/{id}/close", "POST", lambda r, _: disputes.close(r.path_params["id"])),
        ]

    def _cancel(self, request: Request, params: Json) -> Json:
        """Cancel, then give a bank transfer's applied money back to the customer's balance."""
        intent_id = request.path_params["id"]
        stripe_lifecycle.cancel(self.ledger, intent_id, params)
        intent = self.ledger.payment_intents[intent_id]
        self.customers.cash.canceled(intent)
        return self.ledger._render(intent, params)

    def _endpoint(self, handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            if not request.headers.get("authorization", "").startswith("Bearer sk_test_"):
                return _error(401, {"type": "invalid_request_error", "message": "Invalid API Key"})
            raw = await request.body() if request.method == "POST" else request.url.query.encode()
            params = decode_form(raw)
            key = request.headers.get("idempotency-key") if request.method == "POST" else None
            self.requests.append((request.method, request.url.path, key))
            fault = self._take_fault(request.url.path)
            if fault and fault.mode == "before_commit":
                return _error(503, {"type": "api_error", "message": "Service unavailable"})
            response = self._idempotent(key, params, lambda: handler(request, params))
            if fault and fault.mode == "after_commit":
                return _error(500, {"type": "api_error", "message": "Lost after commit"})
            if fault and fault.mode == "hang":
                await asyncio.sleep(3600)
            if fault and fault.mode == "slow":
                await asyncio.sleep(SLOW_SECONDS)
            return response

        return endpoint

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if path.startswith(fault.path_prefix) and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def _idempotent(self, key: str | None, params: Json, run: Callable[[], Json]) -> Response:
        fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        if key and key in self.idempotent:
            stored_fingerprint, status, body = self.idempotent[key]
            if stored_fingerprint != fingerprint:
                message = _KEY_REUSED.format(key=key)
                return _error(400, {"type": "idempotency_error", "message": message})
            return Response(
                body, status, media_type="application/json", headers={"Idempotent-Replayed": "true"}
            )
        try:
            status, payload = 200, run()
        except ParameterError as failure:
            # Validation failed before the endpoint ran: Stripe stores no result for it.
            return _error(failure.status, failure.error)
        except StripeFailure as failure:
            status, payload = failure.status, {"error": failure.error}
        body = json.dumps(payload).encode()
        if key:
            # The endpoint ran: its answer, success or error, is what a retry gets.
            self.idempotent[key] = (fingerprint, status, body)
        return Response(body, status, media_type="application/json")


def _intent_action(ledger: StripeLedger, action: str) -> Handler:
    run = getattr(stripe_lifecycle, action)
    return lambda request, params: run(ledger, request.path_params["id"], params)  # type: ignore[no-any-return]


def decode_form(raw: bytes) -> Json:
    """Stripe's form encoding (`metadata[a]=1`, `expand[0]=x`) back into dicts and lists."""
    decoded: Json = {}
    for name, value in parse_qsl(raw.decode(), keep_blank_values=True):
        head, *path = re.findall(r"[^\[\]]+", name)
        _put(decoded, [head, *path], value)
    return _listify(decoded)


def _put(target: Json, path: list[str], value: str) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


def _listify(value: Any) -> Any:
    # A dict keyed 0..n-1 was a list on the wire.
    if not isinstance(value, dict):
        return value
    items = {name: _listify(item) for name, item in value.items()}
    if items and all(name.isdigit() for name in items):
        return [items[name] for name in sorted(items, key=int)]
    return items


def _error(status: int, error: Json) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status)
