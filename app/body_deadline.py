"""Stops waiting for a request body that arrives too slowly: 408, and the connection closed."""

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTimedOut(Exception):
    """The body was still incomplete at the deadline."""


class BodyDeadline:
    """A request's body must arrive whole within `seconds` of the request's start.

    uvicorn has no such timeout: a client that declares a body and sends it a byte at a
    time holds a connection and a task for as long as it likes. Waiting for a disconnect
    after the body (a streamed response) is not bounded.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        deadline = asyncio.get_running_loop().time() + self.seconds
        body_complete, response_started = False, False

        async def receive_by_deadline() -> Message:
            nonlocal body_complete
            if body_complete:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimedOut from None
            body_complete = not message.get("more_body", False)
            return message

        async def watch_send(message: Message) -> None:
            nonlocal response_started
            response_started = True
            await send(message)

        try:
            await self.app(scope, receive_by_deadline, watch_send)
        except BodyTimedOut:
            if not response_started:
                await _request_timeout(send)


async def _request_timeout(send: Send) -> None:
    body = b"Request body not received in time."
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body may still be on its way
    ]
    await send({"type": "http.response.start", "status": 408, "headers": headers})
    await send({"type": "http.response.body", "body": body})
