"""Per-principal request budgets in Redis (memory in dev); a Redis outage never stops the API."""

import asyncio
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
CHARGE_FIELD = "chargePayment"
# A Redis that hangs must not hang requests: the client gives up fast, and so do we.
REDIS_TIMEOUT_SECONDS = 0.25
CHECK_TIMEOUT_SECONDS = 0.5


class RateLimiter:
    """A general budget per principal and a tighter one for chargePayment.

    When Redis fails, the general budget is skipped (fail open: logged and counted),
    while chargePayment falls back to a budget kept in this process: charging is what
    card testers abuse, and a per-process limit still slows them down.
    """

    def __init__(self, default: str, charge: str, redis_url: str | None, namespace: str) -> None:
        self._shared = FixedWindowRateLimiter(_storage(redis_url))
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._default = _budget(default)
        self._charge = _budget(charge)
        self._namespace = namespace

    async def check(self, principal: str, field: str) -> None:
        """Spend one unit of each budget `field` draws on; raise RateLimited when one is empty."""
        await self._spend(self._default, principal, "default")
        if field == CHARGE_FIELD:
            await self._spend(self._charge, principal, "charge")

    async def _spend(self, budget: RateLimitItem | None, principal: str, scope: str) -> None:
        if budget is None:
            return
        keys = (self._namespace, scope, principal)
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
