"""Turns domain errors into GraphQL errors with a stable `extensions.code`; masks the rest."""

import re

import structlog
from graphql import GraphQLError
from strawberry.types import ExecutionResult

from payments.platform.availability import as_outage
from payments.shared.errors import PaymentsError, RateLimited

log = structlog.get_logger(__name__)

MASKED_MESSAGE = "Unexpected error."
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def shape_errors(errors: list[GraphQLError], *, hide_suggestions: bool = False) -> None:
    """Log each error, then rewrite it in place into what the client may see.

    In place, because Strawberry hands the same objects on to the response whichever
    way the operation failed (a parse error raised by the document cache included).
    Expected errors keep their message and get a code; PostgreSQL or Redis out of reach
    is SERVICE_UNAVAILABLE, which a client retries with the same key; anything else reads
    "Unexpected error." (code INTERNAL_SERVER_ERROR) and keeps only its path, so no
    stack trace, SQL or secret reaches a client. In production, "Did you mean ...?"
    hints, which leak the schema, are removed.
    """
    for error in errors:
        _type_outage(error)
        _log(error)
        _make_public(error)
        if hide_suggestions:
            error.message = _SUGGESTION.sub("", error.message)


def _type_outage(error: GraphQLError) -> None:
    """Put the typed ServiceUnavailable in place of a driver's connection error."""
    original = error.original_error
    if original is None or isinstance(original, (PaymentsError, GraphQLError)):
        return
    outage = as_outage(original)
    if outage is not None:
        # One line per request, no traceback: an outage is the store's fault, not ours.
        log.warning("graphql_service_unavailable", path=error.path, error=repr(original))
        error.original_error = outage


def _log(error: GraphQLError) -> None:
    # Expected errors answer the client (bad input, auth, limits): not faults of ours.
    if _is_unexpected(error):
        log.error("graphql_unexpected_error", path=error.path, exc_info=error.original_error)
    else:
        log.debug("graphql_error", error=error.message, path=error.path)


def _is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, (PaymentsError, GraphQLError))


def _make_public(error: GraphQLError) -> None:
    original = error.original_error
    if original is None:
        _set_code(error, "GRAPHQL_VALIDATION_FAILED")
    elif isinstance(original, GraphQLError):
        # graphql-core wraps its own error when a variable's value does not fit its type.
        _set_code(error, "BAD_USER_INPUT")
    elif isinstance(original, PaymentsError):
        error.message = original.message
        error.extensions = {"code": original.code}
        if isinstance(original, RateLimited):
            error.extensions["retryAfter"] = original.retry_after_seconds
    else:
        error.message = MASKED_MESSAGE
        error.extensions = {"code": "INTERNAL_SERVER_ERROR"}


def _set_code(error: GraphQLError, code: str) -> None:
    error.extensions = {**(error.extensions or {}), "code": code}


def refused_before_execution(result: ExecutionResult) -> bool:
    """Whether graphql-core refused the request before execution (a "request error").

    That is: its document did not parse or validate, or a variable did not fit its type.
    Such errors have no path (no field ran) and no cause of ours; a refusal by our own
    code before execution (a rate limit, an outage) is not one.
    """
    return (
        result.data is None
        and bool(result.errors)
        and all(
            error.path is None
            and (error.original_error is None or isinstance(error.original_error, GraphQLError))
            for error in result.errors or ()
        )
    )
