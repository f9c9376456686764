"""Callers without a valid token spend a budget per client address (RATE_LIMIT_ANONYMOUS)."""

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from graph.http.media_types import response_media_type
from graph.http.refusals import refusal
from payments.runtime import Runtime
from payments.shared.errors import RateLimited, Unauthenticated


class AnonymousBudget:
    """Answers 429 with Retry-After once a client address has spent its anonymous budget.

    A request with a valid bearer token passes untouched (its principal's budgets apply
    at execution); any other (no token, a bad or an expired one) first spends a unit of
    its address's budget, so a stranger cannot make the service parse, validate and
    record documents without bound. The address is the one uvicorn settled on, from
    X-Forwarded-For when the peer is a trusted proxy (FORWARDED_ALLOW_IPS).
    """

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        # The first Authorization header, the one the resolvers will read too.
        authorization = headers.get("authorization")
        try:
            await self.runtime.verifier.authenticate(authorization)
        except Unauthenticated:
            refused = await anonymous_refusal(self.runtime, client_address(scope))
            if refused is not None:
                media_type = response_media_type(headers.get("accept"))
                return await too_many_requests(refused, media_type)(scope, receive, send)
        await self.app(scope, receive, send)


async def anonymous_refusal(runtime: Runtime, address: str | None) -> RateLimited | None:
    """Spend a unit of `address`'s anonymous budget; the refusal when it was already spent."""
    try:
        await runtime.rate_limiter.check_anonymous(address)
    except RateLimited as refused:
        return refused
    return None


def client_address(scope: Scope) -> str | None:
    """The client's host as the server (and a trusted proxy's headers) saw it."""
    client = scope.get("client")
    return str(client[0]) if client else None


def too_many_requests(refused: RateLimited, media_type: str) -> JSONResponse:
    """429 with Retry-After, the body shaped as the GraphQL error RATE_LIMITED."""
    seconds = refused.retry_after_seconds
    return refusal(
        refused.message,
        refused.code,
        429,
        media_type,
        extensions={"retryAfter": seconds},
        headers={"retry-after": str(seconds)},
    )
