"""Reading a request body with a hard size bound, before anything else looks at it."""

from starlette.requests import Request

MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    """The body exceeds the bound; no more of it was read."""


async def read_bounded_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, or BodyTooLarge as soon as the declared or received size passes `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)
