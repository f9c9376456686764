"""Request budgets in Redis (memory in dev): per principal, and per client address for strangers.

A Redis outage never stops the API.
"""

import asyncio
import ipaddress
import math
import time

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from payments.shared import metrics
from payments.shared.errors import RateLimited

log = structlog.get_logger(__name__)

OFF = "off"
# A Redis that hangs must not hang requests: the client gives up fast, and so do we.
REDIS_TIMEOUT_SECONDS = 0.25
CHECK_TIMEOUT_SECONDS = 0.5
# Clients without a readable address (a Unix socket, a proxy's odd header) share one budget.
UNKNOWN_ADDRESS = "unknown"
# One IPv6 host usually holds a whole /64: counting its addresses apart would let it mint
# 2^64 budgets (and as many keys).
IPV6_CLIENT_PREFIX = 64


class RateLimiter:
    """A general budget per principal, a tighter one for charging, one per stranger's address.

    When Redis fails, the general and anonymous budgets are skipped (fail open: logged and
    counted), while charging falls back to a budget kept in this process: charging is what
    card testers abuse, and a per-process limit still slows them down.
    """

    def __init__(
        self, default: str, charge: str, anonymous: str, redis_url: str | None, namespace: str
    ) -> None:
        self._shared = FixedWindowRateLimiter(_storage(redis_url))
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._default = _budget(default)
        self._charge = _budget(charge)
        self._anonymous = _budget(anonymous)
        self._namespace = namespace

    async def check(self, principal: str, *, moves_money: bool) -> None:
        """Spend a unit of the principal's budgets (charge too when it `moves_money`).

        Raises RateLimited when one is empty.
        """
        await self._spend(self._default, principal, "default")
        if moves_money:
            await self._spend(self._charge, principal, "charge")

    async def check_anonymous(self, address: str | None) -> None:
        """Spend a unit of the budget of a caller without a valid token, by client address.

        Raises RateLimited when it is empty.
        """
        await self._spend(self._anonymous, address_key(address), "anonymous")

    async def _spend(self, budget: RateLimitItem | None, owner: str, scope: str) -> None:
        if budget is None:
            return
        keys = (self._namespace, scope, owner)
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                retry_after = await _refusal(self._shared, budget, keys)
        except Exception as exc:  # Redis down or hung: answering matters more than limiting
            log.warning("rate_limit_unavailable", budget=scope, error=repr(exc))
            metrics.RATE_LIMIT_ERRORS.labels(scope).inc()
            if scope != "charge":
                return
            retry_after = await _refusal(self._local, budget, keys)
        if retry_after is not None:
            metrics.RATE_LIMITED.labels(scope).inc()
            raise RateLimited(retry_after)


def address_key(address: str | None) -> str:
    """The budget key of a client address: itself, or its /64 for IPv6 (bounded in length)."""
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return UNKNOWN_ADDRESS
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(parsed)


async def _refusal(
    limiter: FixedWindowRateLimiter, budget: RateLimitItem, keys: tuple[str, ...]
) -> int | None:
    """None when a unit was spent; otherwise the seconds until the window resets."""
    if await limiter.hit(budget, *keys):
        return None
    stats = await limiter.get_window_stats(budget, *keys)
    return max(1, math.ceil(stats.reset_time - time.time()))


def _storage(redis_url: str | None) -> Storage:
    if not redis_url:
        return MemoryStorage()
    return RedisStorage(
        f"async+{redis_url}",
        connect_timeout=REDIS_TIMEOUT_SECONDS,
        stream_timeout=REDIS_TIMEOUT_SECONDS,
    )


def _budget(notation: str) -> RateLimitItem | None:
    return None if notation.strip().lower() == OFF else parse(notation)
