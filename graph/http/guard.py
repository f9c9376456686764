"""Guards the GraphQL endpoint before Strawberry sees a request: CSRF, size, batching."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.http.media_types import response_media_type
from graph.http.view import bad_request

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
        reply_type = response_media_type(headers.get(b"accept", b"").decode("latin-1"))
        if _media_type(headers.get(b"content-type", b"")) != b"application/json":
            return await bad_request(
                "Only application/json requests are accepted.", 415, reply_type
            )(scope, receive, send)
        declared = headers.get(b"content-length", b"")
        too_long = declared.isdigit() and int(declared) > self.max_bytes
        body = None if too_long else await _read(receive, self.max_bytes)
        if body is None:
            return await bad_request("Request body too large.", 413, reply_type)(
                scope, receive, send
            )
        if body.lstrip().startswith(b"["):
            return await bad_request("Batched operations are not accepted.", 400, reply_type)(
                scope, receive, send
            )
        # Media types are case-insensitive, Strawberry's check is not: pass it on canonical.
        await self.app(_with_json_content_type(scope), _replay(body), send)


def _with_json_content_type(scope: Scope) -> Scope:
    headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
    return {**scope, "headers": [*headers, (b"content-type", b"application/json")]}


def _media_type(content_type: bytes) -> bytes:
    return content_type.split(b";", 1)[0].strip().lower()


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The whole body, counted as it streams in (a client may omit or lie about its length)."""
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
