"""What a client sees when a resolver meets PostgreSQL or Redis out of reach, or a bug of ours."""

import asyncpg
import redis.exceptions
from graphql import GraphQLError

from graph.error_shaping import MASKED_MESSAGE, shape_errors
from payments.shared.errors import ServiceUnavailable


def _shaped(original: Exception) -> GraphQLError:
    error = GraphQLError(str(original), path=["chargePayment"], original_error=original)
    shape_errors([error])
    return error


def test_a_store_out_of_reach_is_a_typed_retryable_error() -> None:
    """Driver connection errors answer SERVICE_UNAVAILABLE with a retry hint, never masked."""
    for original in (
        asyncpg.CannotConnectNowError("the database system is starting up"),
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379."),
    ):
        error = _shaped(original)
        assert error.extensions == {"code": "SERVICE_UNAVAILABLE"}
        assert error.message == ServiceUnavailable().message
        assert "5432" not in error.message and "6379" not in error.message


def test_a_bug_is_still_masked() -> None:
    """Any other error stays "Unexpected error." with INTERNAL_SERVER_ERROR."""
    error = _shaped(KeyError("customer_id"))
    assert (error.message, error.extensions) == (MASKED_MESSAGE, {"code": "INTERNAL_SERVER_ERROR"})
