"""Callers without a valid token spend a budget per client address (RATE_LIMIT_ANONYMOUS)."""

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

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
        # The first Authorization header, the one the resolvers will read too.
        authorization = Headers(scope=scope).get("authorization")
        try:
            await self.runtime.verifier.authenticate(authorization)
        except Unauthenticated:
            refused = await anonymous_refusal(self.runtime, client_address(scope))
            if refused is not None:
                return await too_many_requests(refused)(scope, receive, send)
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


def too_many_requests(refused: RateLimited) -> JSONResponse:
    """429 with Retry-After, the body shaped as the GraphQL error RATE_LIMITED."""
    seconds = refused.retry_after_seconds
    error = {
        "message": refused.message,
        "extensions": {"code": refused.code, "retryAfter": seconds},
    }
    return JSONResponse({"errors": [error]}, status_code=429, headers={"retry-after": str(seconds)})
