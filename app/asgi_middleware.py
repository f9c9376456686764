"""Plain ASGI middleware for every response: request ids, security headers, access log."""

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog

from payments.shared.correlation import REQUEST_ID_HEADER, accept_request_id, bind_request_id

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = structlog.get_logger("payments.access")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# Responses are JSON or text; a page that needs more (GraphiQL) sends its own policy.
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
HSTS = b"max-age=63072000; includeSubDomains"


class RequestContext:
    """Tags each request with an id (X-Request-ID, or a new one), logs it, secures the answer."""

    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = accept_request_id(_header(scope, REQUEST_ID_HEADER.encode()))
        structlog.contextvars.clear_contextvars()
        bind_request_id(request_id)
        started, status = time.perf_counter(), 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = self._secured(message.get("headers", []), request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )

    def _secured(self, headers: list[tuple[bytes, bytes]], request_id: str) -> list[Any]:
        secured = [*headers, *SECURITY_HEADERS, (REQUEST_ID_HEADER.encode(), request_id.encode())]
        if not any(name.lower() == b"content-security-policy" for name, _ in headers):
            secured.append((b"content-security-policy", API_CSP))
        if self.production:
            secured.append((b"strict-transport-security", HSTS))
        return secured


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None
