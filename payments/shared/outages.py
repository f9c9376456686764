"""Which failures mean PostgreSQL or Redis is out of reach: the typed ServiceUnavailable."""

from collections.abc import Iterator

import asyncpg
import redis.exceptions

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
