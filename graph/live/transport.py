"""graphql-transport-ws with the token in connection_init, its expiry, pings and limits."""

import asyncio
import contextlib
import time
from datetime import timedelta
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)

from graph.context import Context
from graph.http.anonymous_budget import anonymous_refusal
from graph.live.messages import shape_problem
from payments.live.limits import ConnectionLimit, PendingConnections
from payments.shared.auth import token_expiry
from payments.shared.errors import Unauthenticated

# 4429 says "too many" for a principal's connections and a stranger's spent budget alike.
FORBIDDEN, TOO_MANY, TRY_AGAIN_LATER = 4403, 4429, 1013
# graphql-transport-ws: a socket that sends no connection_init within this is closed (4408).
CONNECTION_INIT_TIMEOUT = timedelta(seconds=5)
# No protocol message comes near this; the server (uvicorn's ws_max_size) closes a socket
# that sends a longer one with 1009 as soon as the frame header announces it.
MAX_MESSAGE_BYTES = 64 * 1024


class LiveTransport(BaseGraphQLTransportWSHandler[Context, None]):
    """Authenticates `{"Authorization": "Bearer <JWT>"}` once, then watches the connection.

    A bad token closes with 4403 (4429 once its client address has spent the anonymous
    budget it shares with HTTP); so does its expiry, later. The server pings every
    LIVE_KEEPALIVE_SECONDS, and a principal's connections per process are bounded, as
    are the sockets not authenticated yet: past LIVE_MAX_UNAUTHENTICATED_CONNECTIONS, or
    LIVE_MAX_UNAUTHENTICATED_PER_ADDRESS from one client address, a new one is closed at
    once with 1013 (try again later). Before connection_init, any other message closes
    the socket (4400), so a socket nobody has vouched for costs no work but its place.
    """

    watchdog: "asyncio.Task[None] | None" = None
    counted_for: str | None = None
    pending: bool = False

    async def handle(self) -> None:
        if not self._pending_limit().acquire(self.context.client_address):
            return await self.websocket.close(TRY_AGAIN_LATER, "Too many pending connections")
        self.pending = True
        await super().handle()

    async def handle_message(self, message: Message) -> None:
        problem = shape_problem(message)
        if problem is not None:
            return await self.handle_invalid_message(problem)
        kind = message.get("type")
        # The protocol lets a subscribe come early only to close it (4401, Strawberry's
        # answer); a ping or anything else answered before authentication would be work
        # done for anyone, so it is a bad request (the reference client sends none).
        if not self.connection_init_received and kind not in {"connection_init", "subscribe"}:
            return await self.handle_invalid_message("connection_init must come first")
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_init_received or self.connection_timed_out:
            return await super().handle_connection_init(message)
        authorization = _authorization(message.get("payload"))
        try:
            principal = await self.context.runtime.verifier.authenticate(authorization)
        except Unauthenticated:
            # A stranger's init spends its address's anonymous budget, shared with HTTP.
            refused = await anonymous_refusal(self.context.runtime, self.context.client_address)
            if refused is not None:
                reason = f"Too many requests; retry after {refused.retry_after_seconds} s"
                return await self.websocket.close(TOO_MANY, reason)
            return await self.websocket.close(code=FORBIDDEN, reason="Forbidden")
        self._leave_pending()
        if not self._limit().acquire(principal.sub):
            return await self.websocket.close(TOO_MANY, "Too many connections")
        self.counted_for = principal.sub
        self.context.known_principal = principal
        await super().handle_connection_init(message)
        if self.connection_acknowledged and authorization:
            self.watchdog = asyncio.create_task(self._watch(token_expiry(authorization)))

    async def _watch(self, expires_at: float) -> None:
        interval = self.context.runtime.settings.live_keepalive_seconds
        while (remaining := expires_at - time.time()) > 0:
            await asyncio.sleep(min(interval, remaining))
            if time.time() < expires_at:
                await self.send_message({"type": "ping"})
        await self.websocket.close(code=FORBIDDEN, reason="Token expired")

    async def shutdown(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.watchdog
        if self.counted_for is not None:
            self._limit().release(self.counted_for)
            self.counted_for = None
        self._leave_pending()
        await super().shutdown()

    def _leave_pending(self) -> None:
        if self.pending:
            self._pending_limit().release(self.context.client_address)
            self.pending = False

    def _limit(self) -> ConnectionLimit:
        limit: ConnectionLimit = self.view.connection_limit  # type: ignore[attr-defined]
        return limit

    def _pending_limit(self) -> PendingConnections:
        limit: PendingConnections = self.view.pending_connections  # type: ignore[attr-defined]
        return limit


def _authorization(payload: Any) -> str | None:
    value = payload.get("Authorization") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None
