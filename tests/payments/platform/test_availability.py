"""Which failures are a store out of reach (SERVICE_UNAVAILABLE) and which are faults of ours."""

import asyncpg
import pytest
import redis.exceptions
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from payments.platform.availability import as_outage
from payments.shared.errors import ServiceUnavailable


def _raised_from(error: BaseException, cause: BaseException) -> BaseException:
    try:
        raise error from cause
    except BaseException as raised:
        return raised


def _raised_while_handling(error: BaseException, context: BaseException) -> BaseException:
    try:
        try:
            raise context
        except BaseException:
            raise error  # noqa: B904 - implicit chaining is what is tested
    except BaseException as raised:
        return raised


OUTAGES = [
    ConnectionRefusedError(111, "Connect call failed"),
    ConnectionResetError(104, "Connection reset by peer"),
    TimeoutError(),
    DBConnectionError("can't connect"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.InterfaceError("connection is closed"),
    asyncpg.InternalClientError("cannot switch to state 12; another operation is in progress"),
    redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379."),
    redis.exceptions.TimeoutError("Timeout reading from socket"),
    _raised_from(OperationalError("wrapped"), asyncpg.AdminShutdownError("shutdown")),
    _raised_while_handling(RuntimeError("then this"), ConnectionResetError()),
]
FAULTS_OF_OURS = [
    ValueError("bad"),
    KeyError("missing"),
    OperationalError('syntax error at or near "SELEC"'),
    IntegrityError("duplicate key value violates unique constraint"),
    asyncpg.UndefinedColumnError('column "nope" does not exist'),
    _raised_from(OperationalError("wrapped"), asyncpg.PostgresSyntaxError("syntax")),
    redis.exceptions.ResponseError("WRONGTYPE"),
]


@pytest.mark.parametrize("error", OUTAGES, ids=repr)
def test_an_unreachable_store_is_service_unavailable(error: BaseException) -> None:
    """A driver's connection failure, bare or wrapped, is the retryable ServiceUnavailable."""
    outage = as_outage(error)
    assert isinstance(outage, ServiceUnavailable) and outage.code == "SERVICE_UNAVAILABLE"


@pytest.mark.parametrize("error", FAULTS_OF_OURS, ids=repr)
def test_other_errors_are_not_outages(error: BaseException) -> None:
    """Bugs, bad SQL and constraint violations stay internal errors, never SERVICE_UNAVAILABLE."""
    assert as_outage(error) is None
