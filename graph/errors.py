"""Turns domain errors into GraphQL errors with a stable `extensions.code`; masks the rest."""

import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from payments.errors import PaymentsError, RateLimited

MASKED_MESSAGE = "Unexpected error."
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


class ErrorPolicy(SchemaExtension):
    """Expected errors keep their message and get a code; anything else is masked.

    A stack trace, SQL or a secret must never reach a client, so unknown errors
    keep only their path and read "Unexpected error." with code INTERNAL_SERVER_ERROR.
    In production, "Did you mean ...?" hints (which leak the schema) are removed.
    """

    def __init__(self, *, hide_suggestions: bool = False) -> None:
        self.hide_suggestions = hide_suggestions

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self._shape(error) for error in result.errors]

    def _shape(self, error: GraphQLError) -> GraphQLError:
        public = _public(error)
        if self.hide_suggestions:
            public.message = _SUGGESTION.sub("", public.message)
        return public


def _public(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None:
        return _with_code(error, "GRAPHQL_VALIDATION_FAILED")
    if isinstance(original, PaymentsError):
        extensions: dict[str, object] = {"code": original.code}
        if isinstance(original, RateLimited):
            extensions["retryAfter"] = original.retry_after_seconds
        return GraphQLError(
            original.message, nodes=error.nodes, path=error.path, extensions=extensions
        )
    return GraphQLError(
        MASKED_MESSAGE,
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR"},
    )


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    error.extensions = {**(error.extensions or {}), "code": code}
    return error
