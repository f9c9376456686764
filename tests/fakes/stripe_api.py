"""A stateful Stripe-compatible API for tests: PaymentIntents, refunds, idempotency, faults."""

import asyncio
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CARDS = {"pm_card_visa": ("visa", "4242"), "pm_card_mastercard": ("mastercard", "4444")}
DECLINES = {
    "pm_card_chargeDeclined": ("card_declined", None),
    "pm_card_chargeDeclinedInsufficientFunds": ("card_declined", "insufficient_funds"),
}


class StripeFailure(Exception):
    """An error answer in Stripe's shape."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.status, self.error = status, error


@dataclass
class Fault:
    path_prefix: str
    # "before_commit": 503, nothing done. "after_commit": done and stored, then 500.
    # "hang": done and stored, then the answer never comes (until the client gives up).
    mode: str
    times: int


@dataclass
class FakeStripe:
    """Stripe's behaviour where our money rules depend on it, kept in memory."""

    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, int, bytes]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    charges_created: int = 0
    refunds_created: int = 0

    def fail_next(self, path_prefix: str, mode: str, times: int = 1) -> None:
        self.faults.append(Fault(path_prefix, mode, times))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/payment_intents", self._endpoint(self._create_intent), methods=["POST"]),
                Route("/v1/payment_intents/search", self._endpoint(self._search_intents)),
                Route("/v1/payment_intents/{id}", self._endpoint(self._get_intent)),
                Route("/v1/refunds", self._endpoint(self._create_refund), methods=["POST"]),
                Route("/v1/refunds", self._endpoint(self._list_refunds), methods=["GET"]),
            ]
        )

    def _endpoint(self, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            if not request.headers.get("authorization", "").startswith("Bearer sk_test_"):
                return _error(401, {"type": "invalid_request_error", "message": "Invalid API Key"})
            params = (
                _params(await request.body())
                if request.method == "POST"
                else dict(request.query_params)
            )
            key = request.headers.get("idempotency-key")
            self.requests.append((request.method, request.url.path, key))
            fault = self._take_fault(request.url.path)
            if fault and fault.mode == "before_commit":
                return _error(503, {"type": "api_error", "message": "Service unavailable"})
            response = self._idempotent(key, params, lambda: handler(request, params))
            if fault and fault.mode == "after_commit":
                return _error(500, {"type": "api_error", "message": "Lost after commit"})
            if fault and fault.mode == "hang":
                await asyncio.sleep(3600)
            return response

        return endpoint

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if path.startswith(fault.path_prefix) and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def _idempotent(self, key: str | None, params: dict[str, str], run: Any) -> Response:
        fingerprint = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        if key and key in self.idempotent:
            stored_fingerprint, status, body = self.idempotent[key]
            if stored_fingerprint != fingerprint:
                message = f"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."  # noqa: E501
                return _error(400, {"type": "idempotency_error", "message": message})
            return Response(
                body, status, media_type="application/json", headers={"Idempotent-Replayed": "true"}
            )
        try:
            status, payload = 200, run()
        except StripeFailure as failure:
            status, payload = failure.status, {"error": failure.error}
        body = json.dumps(payload).encode()
        if key:
            # The endpoint ran: its answer, success or error, is what a retry gets.
            self.idempotent[key] = (fingerprint, status, body)
        return Response(body, status, media_type="application/json")

    def _create_intent(self, request: Request, params: dict[str, str]) -> dict[str, Any]:
        if any(name.startswith("payment_method_types") for name in params):
            raise _invalid(
                "payment_method_types", "Received unknown parameter: payment_method_types"
            )
        method = params.get("payment_method", "")
        if not (
            method in CARDS or method in DECLINES or method == "pm_card_authenticationRequired"
        ):
            raise _invalid(
                "payment_method", f"No such PaymentMethod: '{method}'", "resource_missing"
            )
        intent = self._new_intent(params, method)
        self.charges_created += 1
        if method in DECLINES:
            code, decline = DECLINES[method]
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                "code": code,
                "decline_code": decline,
                "message": "Your card was declined.",
            }
            raise StripeFailure(
                402,
                {
                    "type": "card_error",
                    "code": code,
                    "decline_code": decline,
                    "message": "Your card was declined.",
                    "payment_intent": intent,
                },
            )
        return self._expanded(intent, params)

    def _new_intent(self, params: dict[str, str], method: str) -> dict[str, Any]:
        intent_id = f"pi_{secrets.token_hex(12)}"
        succeeded = method in CARDS
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "currency": params["currency"],
            "status": "succeeded" if succeeded else "requires_action",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "metadata": _nested(params, "metadata"),
            "last_payment_error": None,
            "latest_charge": None,
            "created": int(time.time()),
        }
        if succeeded:
            brand, last4 = CARDS[method]
            intent["latest_charge"] = {
                "id": f"ch_{secrets.token_hex(12)}",
                "object": "charge",
                "payment_method_details": {
                    "type": "card",
                    "card": {"brand": brand, "last4": last4},
                },
            }
        self.intents[intent_id] = intent
        return intent

    def _expanded(self, intent: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        if "latest_charge" in params.values() or not intent["latest_charge"]:
            return intent
        return {**intent, "latest_charge": intent["latest_charge"]["id"]}

    def _get_intent(self, request: Request, params: dict[str, str]) -> dict[str, Any]:
        intent = self.intents.get(request.path_params["id"])
        if intent is None:
            raise _invalid("intent", "No such payment_intent", "resource_missing", 404)
        return self._expanded(intent, params)

    def _search_intents(self, request: Request, params: dict[str, str]) -> dict[str, Any]:
        match = re.fullmatch(r"metadata\['payment_id'\]:'([^']*)'", params.get("query", ""))
        wanted = match.group(1) if match else None
        found = [i for i in self.intents.values() if i["metadata"].get("payment_id") == wanted]
        return {"object": "search_result", "data": found, "has_more": False, "url": "/v1/x"}

    def _create_refund(self, request: Request, params: dict[str, str]) -> dict[str, Any]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            raise _invalid("payment_intent", "This PaymentIntent cannot be refunded.")
        refunded = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"]
        )
        amount = int(params.get("amount", intent["amount"] - refunded))
        if refunded >= intent["amount"]:
            raise _invalid("charge", "Charge has already been refunded.", "charge_already_refunded")
        if refunded + amount > intent["amount"]:
            raise _invalid(
                "amount", "Refund amount is greater than unrefunded amount.", "amount_too_large"
            )
        refund = {
            "id": f"re_{secrets.token_hex(12)}",
            "object": "refund",
            "amount": amount,
            "payment_intent": intent["id"],
            "status": "succeeded",
            "failure_reason": None,
            "reason": params.get("reason"),
            "metadata": _nested(params, "metadata"),
        }
        self.refunds[refund["id"]] = refund
        self.refunds_created += 1
        return refund

    def _list_refunds(self, request: Request, params: dict[str, str]) -> dict[str, Any]:
        wanted = params.get("payment_intent")
        data = [r for r in self.refunds.values() if r["payment_intent"] == wanted]
        return {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"}


def _params(body: bytes) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def _nested(params: dict[str, str], prefix: str) -> dict[str, str]:
    pattern = re.compile(rf"^{prefix}\[([^\]]+)\]$")
    return {m.group(1): value for name, value in params.items() if (m := pattern.match(name))}


def _invalid(param: str, message: str, code: str | None = None, status: int = 400) -> StripeFailure:
    error = {"type": "invalid_request_error", "param": param, "message": message, "code": code}
    return StripeFailure(status, error)


def _error(status: int, error: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status)
