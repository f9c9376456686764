"""A PayPal-compatible HTTP API for tests: the ledger's objects behind PayPal's wire rules.

OAuth client credentials with expiring tokens (401 `invalid_token` once one expires),
JSON bodies, `PayPal-Request-Id` replays answered 200 with the resource's current state
(not the first answer), `Prefer: return=minimal|representation`, and knobs: slow answers
and a 500 after the work was done.
"""

import asyncio
import base64
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.paypal_ledger import Json, PayPalDisputes, PayPalFailure, PayPalLedger

CLIENT_ID = "test-paypal-client"
CLIENT_SECRET = "test-paypal-secret"
# A write's answer: (resource kind, resource id) so that a replay renders its current state.
Made = tuple[str, str]
Handler = Callable[[Request, Json, str | None], Made]


@dataclass
class Knob:
    path_part: str
    # "slow": done, answered after `seconds`. "fail_after": done and stored, then 500.
    mode: str
    times: int
    seconds: float = 0.0


@dataclass
class FakePayPal:
    """PayPal's behaviour where our money rules depend on it, kept in memory."""

    ledger: PayPalLedger = field(default_factory=PayPalLedger)
    disputes: PayPalDisputes = field(init=False)
    # The merchant's app; tests give each fake its own, so tokens cached in Redis stay apart.
    client_id: str = CLIENT_ID
    token_ttl_seconds: int = 32_400
    tokens: dict[str, float] = field(default_factory=dict)
    tokens_issued: int = 0
    # Calls refused with 401 (no, unknown or expired token).
    refused: int = 0
    # PayPal-Request-Id -> what the first request made.
    request_ids: dict[str, Made] = field(default_factory=dict)
    # (method, path, PayPal-Request-Id) of every authenticated call.
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    knobs: list[Knob] = field(default_factory=list)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.disputes = PayPalDisputes(self.ledger)

    def slow(self, path_part: str, seconds: float, times: int = 1_000) -> None:
        self.knobs.append(Knob(path_part, "slow", times, seconds))

    def fail_after(self, path_part: str, times: int = 1) -> None:
        """Do the next such call, then answer 500 as if PayPal fell over before answering."""
        self.knobs.append(Knob(path_part, "fail_after", times))

    def expire_tokens(self) -> None:
        """Every token issued so far is expired at PayPal (earlier than its expires_in said)."""
        self.tokens = dict.fromkeys(self.tokens, 0.0)

    def app(self) -> Starlette:
        ledger = self.ledger
        routes = [
            Route("/v1/oauth2/token", self._token, methods=["POST"]),
            self._route(
                "/v2/checkout/orders",
                "POST",
                lambda r, b, p: ("order", ledger.create_order(b, "representation")["id"]),
            ),
            self._read("/v2/checkout/orders/{id}", lambda i: ledger.render_order(i, None)),
            self._route(
                "/v2/checkout/orders/{id}/capture",
                "POST",
                lambda r, b, p: ("order", ledger.capture_order(r.path_params["id"], p)["id"]),
            ),
            self._route(
                "/v2/checkout/orders/{id}/authorize",
                "POST",
                lambda r, b, p: ("order", ledger.authorize_order(r.path_params["id"], p)["id"]),
            ),
            self._read("/v2/payments/authorizations/{id}", ledger.render_authorization),
            self._route(
                "/v2/payments/authorizations/{id}/capture",
                "POST",
                lambda r, b, p: (
                    "capture",
                    ledger.capture_authorization(r.path_params["id"], b)["id"],
                ),
            ),
            self._route(
                "/v2/payments/authorizations/{id}/void",
                "POST",
                lambda r, b, p: (
                    "authorization",
                    ledger.void_authorization(r.path_params["id"])["id"],
                ),
            ),
            self._read("/v2/payments/captures/{id}", ledger.render_capture),
            self._route(
                "/v2/payments/captures/{id}/refund",
                "POST",
                lambda r, b, p: ("refund", ledger.refund_capture(r.path_params["id"], b)["id"]),
            ),
            self._read("/v2/payments/refunds/{id}", ledger.render_refund),
            self._read("/v1/customer/disputes/{id}", self.disputes.render),
            self._route(
                "/v1/customer/disputes/{id}/provide-evidence",
                "POST",
                lambda r, b, p: (
                    "dispute",
                    self.disputes.provide_evidence(r.path_params["id"], b)["dispute_id"],
                ),
            ),
            self._route(
                "/v1/customer/disputes/{id}/accept-claim",
                "POST",
                lambda r, b, p: (
                    "dispute",
                    self.disputes.accept_claim(r.path_params["id"], b)["dispute_id"],
                ),
            ),
        ]
        return Starlette(routes=routes)

    async def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{self.client_id}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client Authentication failed"},
                401,
            )
        form = dict(parse_qsl((await request.body()).decode()))
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"}, 400
            )
        access_token = f"A21AA{secrets.token_urlsafe(24)}"
        self.tokens[access_token] = time.time() + self.token_ttl_seconds
        self.tokens_issued += 1
        return JSONResponse(
            {
                "scope": "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund",
                "access_token": access_token,
                "token_type": "Bearer",
                "app_id": "APP-80W284485P519543T",
                "expires_in": self.token_ttl_seconds,
                "nonce": f"{time.strftime('%Y-%m-%dT%H:%M:%SZ')}{secrets.token_hex(8)}",
            }
        )

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        expires = self.tokens.get(header.removeprefix("Bearer "))
        valid = header.startswith("Bearer ") and expires is not None and expires > time.time()
        self.refused += not valid
        return valid

    def _read(self, path: str, render: Callable[[str], Json]) -> Route:
        async def endpoint(request: Request) -> Response:
            if not self._authorized(request):
                return _unauthorized()
            self.requests.append(("GET", request.url.path, None))
            try:
                return JSONResponse(render(request.path_params["id"]))
            except PayPalFailure as failure:
                return JSONResponse(failure.body, failure.status)

        return Route(path, endpoint, methods=["GET"])

    def _route(self, path: str, method: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            if not self._authorized(request):
                return _unauthorized()
            request_id = request.headers.get("paypal-request-id")
            prefer = request.headers.get("prefer")
            raw = await request.body()
            self.requests.append((method, request.url.path, request_id))
            try:
                body = _read_body(request.headers.get("content-type", ""), raw)
            except ValueError:
                return JSONResponse(
                    {
                        "name": "INVALID_REQUEST",
                        "message": "Request is not well-formed.",
                        "details": [{"issue": "MALFORMED_REQUEST_JSON"}],
                    },
                    400,
                )
            knob = self._take_knob(request.url.path)
            # One request at a time, as PayPal's own request-id lock: a replay waits for the first.
            async with self._lock:
                key = f"{request.url.path}|{request_id}" if request_id else None
                if key is not None and key in self.request_ids:
                    return JSONResponse(self._render(*self.request_ids[key], prefer), 200)
                try:
                    made = handler(request, body, prefer)
                except PayPalFailure as failure:
                    return JSONResponse(failure.body, failure.status)
                if key is not None:
                    self.request_ids[key] = made
                if knob is not None and knob.mode == "slow":
                    await asyncio.sleep(knob.seconds)
            if knob is not None and knob.mode == "fail_after":
                return JSONResponse(
                    {
                        "name": "INTERNAL_SERVER_ERROR",
                        "message": "An internal server error occurred.",
                        "debug_id": secrets.token_hex(6),
                    },
                    500,
                )
            # A void or a dispute's answer changes what exists (200); other writes make one (201).
            changes = request.url.path.endswith("/void") or "/disputes/" in request.url.path
            status = 200 if changes else 201
            return JSONResponse(self._render(*made, prefer), status)

        return Route(path, endpoint, methods=[method])

    def _render(self, kind: str, item_id: str, prefer: str | None) -> Json:
        if kind == "dispute":
            # customer_disputes_v1's `subsequent_action`: a link to the dispute, no state.
            link = f"https://api.sandbox.paypal.com/v1/customer/disputes/{item_id}"
            return {"links": [{"href": link, "rel": "self", "method": "GET"}]}
        if kind == "order":
            return self.ledger.render_order(item_id, prefer)
        if kind == "capture":
            return self.ledger.render_capture(item_id)
        if kind == "authorization":
            return self.ledger.render_authorization(item_id)
        return self.ledger.render_refund(item_id)

    def _take_knob(self, path: str) -> Knob | None:
        for knob in self.knobs:
            if knob.path_part in path and knob.times > 0:
                knob.times -= 1
                return knob
        return None

    def calls(self, path_part: str) -> list[tuple[str, str, str | None]]:
        return [call for call in self.requests if path_part in call[1]]


def _read_body(content_type: str, raw: bytes) -> Json:
    """A JSON body, or a multipart/form-data body's JSON part `input` (provide-evidence)."""
    if not content_type.startswith("multipart/form-data"):
        body = json.loads(raw) if raw else {}
        return body if isinstance(body, dict) else {}
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "input":
            body = json.loads(part.get_payload(decode=True) or b"{}")
            return body if isinstance(body, dict) else {}
    raise ValueError("no input part")


def _unauthorized() -> Response:
    return JSONResponse(
        {"error": "invalid_token", "error_description": "Access Token not found in cache"}, 401
    )


def credentials(client_id: str = CLIENT_ID) -> dict[str, Any]:
    """Settings that point the service's PayPal rail at a fake (add paypal_api_base)."""
    return {
        "paypal_client_id": client_id,
        "paypal_client_secret": CLIENT_SECRET,
        "paypal_webhook_id": "WH-TEST-0001",
    }
