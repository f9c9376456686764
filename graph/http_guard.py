"""Guards the GraphQL endpoint before Strawberry sees a request: CSRF, size, batching."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.view import bad_request

MAX_BODY_BYTES = 64 * 1024


class GraphQLRequestGuard:
    """Executes only `application/json` POSTs of one operation, at most `max_bytes` long.

    Requiring JSON makes a cross-site form post (a "simple" request) impossible, and
    refusing JSON arrays stops batching from multiplying one request's cost.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if not headers.get(b"content-type", b"").startswith(b"application/json"):
            return await bad_request("Only application/json requests are accepted.", 415)(
                scope, receive, send
            )
        body = await _read(receive, self.max_bytes)
        if body is None:
            return await bad_request("Request body too large.", 413)(scope, receive, send)
        if body.lstrip().startswith(b"["):
            return await bad_request("Batched operations are not accepted.")(scope, receive, send)
        await self.app(scope, _replay(body), send)


async def _read(receive: Receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
