"""Whether PostgreSQL and Redis are in reach: readiness probes, and failures that mean an outage."""

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any

import asyncpg
import redis.exceptions
from redis.asyncio import Redis
from tortoise import connections

from payments.shared.errors import ServiceUnavailable

# What the drivers raise when the server is down, restarting, shutting us out or full:
# OSError covers refused and reset sockets, timeouts and Tortoise's DBConnectionError;
# asyncpg's client errors are what a pooled connection the server dropped answers with
# ("connection is closed", or its protocol left mid-operation by the drop).
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def as_outage(error: BaseException) -> ServiceUnavailable | None:
    """ServiceUnavailable when `error`, or an error it was raised from, is an unreachable store.

    The chain is followed because Tortoise and the pool wrap the driver's error
    (OperationalError from AdminShutdownError, for one); any other error is a fault of ours.
    """
    if any(isinstance(cause, _UNREACHABLE) for cause in _causes(error)):
        return ServiceUnavailable()
    return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )


PROBE_TIMEOUT_SECONDS = 2.0


async def check_readiness(redis: Redis | None) -> dict[str, str]:
    """`{"database": "ok" | "down", "redis": ...}`; Redis is absent when none is configured."""
    checks = {"database": await _probe(_ping_database())}
    if redis is not None:
        checks["redis"] = await _probe(_ping_redis(redis))
    return checks


async def _probe(check: Coroutine[Any, Any, None]) -> str:
    try:
        await asyncio.wait_for(check, PROBE_TIMEOUT_SECONDS)
    except Exception:  # any failure to answer means "down" to an orchestrator
        return "down"
    return "ok"


async def _ping_database() -> None:
    await connections.get("default").execute_query("SELECT 1")


async def _ping_redis(redis: Redis) -> None:
    await redis.ping()
