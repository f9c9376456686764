"""The GraphQL-shaped answer to a request refused before execution, in its media type."""

from typing import Any

from starlette.responses import JSONResponse

from graph.http.media_types import GRAPHQL_RESPONSE_JSON


def refusal(
    message: str,
    code: str,
    status_code: int,
    media_type: str,
    *,
    extensions: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """One error with `extensions.code`, answered with `status_code`.

    `application/json` clients get `data: null` as they always have; under
    `application/graphql-response+json` a request error has no `data` entry at all.
    """
    errors = [{"message": message, "extensions": {"code": code, **(extensions or {})}}]
    body = (
        {"errors": errors}
        if media_type == GRAPHQL_RESPONSE_JSON
        else {"data": None, "errors": errors}
    )
    return JSONResponse(body, status_code=status_code, media_type=media_type, headers=headers)
