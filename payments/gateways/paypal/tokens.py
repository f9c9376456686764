"""PayPal's OAuth client-credentials token, shared by every process through Redis."""

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis

log = structlog.get_logger(__name__)

# Refreshed this long before PayPal says it expires: a call in flight never carries a token
# that lapses on its way (PayPal's tokens live about nine hours).
REFRESH_MARGIN_SECONDS = 300
# How long one process may hold the right to fetch; others wait and read its token.
_FETCH_LOCK_MS = 10_000
_WAIT_STEP_SECONDS = 0.05


@dataclass(frozen=True)
class AccessToken:
    value: str
    # Unix seconds at which PayPal stops accepting it.
    expires_at: float

    def fresh(self, now: float) -> bool:
        return self.expires_at - REFRESH_MARGIN_SECONDS > now


Fetch = Callable[[], Awaitable[AccessToken]]


class TokenStore:
    """One token per client id for all processes; fetched by one of them at a time.

    A token about to expire is refreshed ahead of time; a token PayPal refused (401) is
    replaced once, however many calls saw that refusal at the same moment.
    """

    def __init__(self, redis: Redis, namespace: str, client_id: str, fetch: Fetch) -> None:
        self._redis = redis
        self._key = f"{namespace}:paypal:token:{client_id}"
        self._lock_key = f"{self._key}:fetching"
        self._fetch = fetch

    async def current(self) -> AccessToken:
        """A token valid for at least REFRESH_MARGIN_SECONDS, from Redis or freshly fetched."""
        token = await self._read()
        if token is not None and token.fresh(time.time()):
            return token
        return await self._replace(token)

    async def refused(self, token: AccessToken) -> AccessToken:
        """PayPal answered 401 to `token`: the next one, fetched once for every caller."""
        stored = await self._read()
        if stored is not None and stored.value != token.value and stored.fresh(time.time()):
            return stored  # another caller already replaced it
        return await self._replace(stored)

    async def _replace(self, stale: AccessToken | None) -> AccessToken:
        owner = uuid.uuid4().hex
        while True:
            if await self._redis.set(self._lock_key, owner, nx=True, px=_FETCH_LOCK_MS):
                try:
                    return await self._fetch_and_store(stale)
                finally:
                    await self._release(owner)
            # Another process is fetching: its token lands in Redis shortly.
            token = await self._read()
            if token is not None and token != stale and token.fresh(time.time()):
                return token
            await asyncio.sleep(_WAIT_STEP_SECONDS)

    async def _fetch_and_store(self, stale: AccessToken | None) -> AccessToken:
        # The lock's previous holder may have stored one while we waited for the lock.
        token = await self._read()
        if token is not None and token != stale and token.fresh(time.time()):
            return token
        token = await self._fetch()
        ttl_ms = max(int((token.expires_at - time.time()) * 1000), 1)
        payload = json.dumps({"value": token.value, "expires_at": token.expires_at})
        await self._redis.set(self._key, payload, px=ttl_ms)
        log.info("paypal_token_fetched", expires_in=int(token.expires_at - time.time()))
        return token

    async def _read(self) -> AccessToken | None:
        raw = await self._redis.get(self._key)
        if raw is None:
            return None
        stored = json.loads(raw)
        return AccessToken(stored["value"], float(stored["expires_at"]))

    async def _release(self, owner: str) -> None:
        # Only our own lock: a fetch slower than the lock's expiry must not free another's.
        if await self._redis.get(self._lock_key) in (owner, owner.encode()):
            await self._redis.delete(self._lock_key)
