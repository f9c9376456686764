"""Per-principal request budgets in Redis (or memory in dev); fails open when Redis is down."""

import math
import time

import structlog
from limits import RateLimitItem, parse
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from payments import metrics
from payments.errors import RateLimited

log = structlog.get_logger(__name__)

OFF = "off"
CHARGE_FIELD = "chargePayment"


class RateLimiter:
    """A general budget per principal and a tighter one for chargePayment."""

    def __init__(self, default: str, charge: str, redis_url: str | None, namespace: str) -> None:
        uri = f"async+{redis_url}" if redis_url else "async+memory://"
        self._limiter = FixedWindowRateLimiter(storage_from_string(uri))
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
        try:
            allowed = await self._limiter.hit(budget, self._namespace, scope, principal)
            if allowed:
                return
            stats = await self._limiter.get_window_stats(budget, self._namespace, scope, principal)
        except Exception as exc:  # Redis down: answering matters more than limiting
            log.warning("rate_limit_unavailable", error=repr(exc))
            metrics.RATE_LIMIT_ERRORS.inc()
            return
        metrics.RATE_LIMITED.labels(scope).inc()
        raise RateLimited(max(1, math.ceil(stats.reset_time - time.time())))


def _budget(notation: str) -> RateLimitItem | None:
    return None if notation.strip().lower() == OFF else parse(notation)
