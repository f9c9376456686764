"""The HTTP pools that events are POSTed to consumers over, one per consumer."""

import asyncio
import socket
import urllib.request
from collections import deque
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from payments.shared.addresses import is_public

# A consumer that closes the connection after each answer (HTTP/1.0 or `Connection: close`:
# Python's http.server, many small services) takes a new connection per POST into a short
# accept queue (socketserver listens with a backlog of 5). More connections opened at once
# than it has accepted overflow that queue: the kernel drops the SYN and the client sends it
# again only after 1 s, then 3 s, so 50 POSTs in flight moved about 35 events/s. A few at a
# time keep it busy without overflowing: about 1,000 events/s into http.server, where 8 at a
# time overflowed it; 3 per worker process leave room for two processes in its queue.
CLOSING_CONSUMER_POSTS = 3


class ConsumerClients:
    """One connection pool per consumer for the life of the process.

    aiohttp rather than httpx here: at 50 POSTs in flight httpx's pool spends about 3.8 ms
    of CPU per POST checking every connection on each request, aiohttp about 0.14 ms.
    A slow consumer's connections cannot starve another's batches. Sessions are made
    on first use, on the event loop that uses them.
    """

    def __init__(self, connections_per_consumer: int) -> None:
        self.connections_per_consumer = connections_per_consumer
        self._sessions: dict[str, aiohttp.ClientSession] = {}

    def session(self, consumer: str, url: str, public_only: bool = False) -> aiohttp.ClientSession:
        """The session of the consumer at `url`, pacing its POSTs as its connections allow.

        `public_only` connects only to public addresses, whatever the host's DNS answers now.
        """
        session = self._sessions.get(consumer)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.connections_per_consumer,
                resolver=PublicAddresses() if public_only else None,
            )
            # Consumers' cookies are not ours to keep. The proxy is read from the
            # environment once: aiohttp's trust_env re-reads it and ~/.netrc per request.
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                proxy=_proxy_for(url),
                middlewares=(PostsInFlight(self.connections_per_consumer),),
            )
            self._sessions[consumer] = session
        return session

    async def close(self) -> None:
        """Close every pool (worker shutdown)."""
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for session in sessions:
            await session.close()


class PublicAddresses(ThreadedResolver):
    """Resolves to public addresses only, at each connection.

    The URL was checked when it was registered, but its host's DNS may answer a private
    address later (DNS rebinding): checked here, a connection can never be opened to one.
    """

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        public = [r for r in await super().resolve(host, port, family) if is_public(r["host"])]
        if not public:
            raise OSError(f"{host} resolves to no public address")
        return public


class PostsInFlight:
    """Bounds one consumer's POSTs sent and not yet answered, by how it treats connections.

    `connections` while its last answer kept the connection alive, CLOSING_CONSUMER_POSTS
    otherwise; also before its first answer, so a first burst cannot overflow a consumer
    that closes (one that keeps them alive widens at its first answer, waiters included).
    A POST's slot is free once its answer's head is in: the consumer has accepted its
    connection by then, so it no longer holds a place in the consumer's accept queue.
    """

    def __init__(self, connections: int) -> None:
        self.connections = connections
        self.limit = CLOSING_CONSUMER_POSTS
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def __call__(
        self, request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        await self._take()
        response: aiohttp.ClientResponse | None = None
        try:
            response = await send(request)
            return response
        finally:
            if response is not None:
                keeps_alive = _keeps_alive(response)
                self.limit = self.connections if keeps_alive else CLOSING_CONSUMER_POSTS
            self._release()

    async def _take(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._wake()
        try:
            await waiter  # returns at once when a slot was free
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot it will not use
            raise

    def _release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        """Hand the free slots to the waiters, in arrival order."""
        while self.in_flight < self.limit and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # else cancelled while it waited
                waiter.set_result(None)
                self.in_flight += 1


def _keeps_alive(response: aiohttp.ClientResponse) -> bool:
    """Whether the connection outlives this answer (RFC 9112 section 9.3)."""
    tokens = {token.strip().lower() for token in response.headers.get("Connection", "").split(",")}
    if response.version == aiohttp.HttpVersion10:
        return "keep-alive" in tokens
    return "close" not in tokens


def _proxy_for(url: str) -> str | None:
    """The proxy that HTTP_PROXY / HTTPS_PROXY name for `url`, unless NO_PROXY exempts it."""
    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)
