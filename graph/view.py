"""The ASGI GraphQL endpoint: context per request, GraphiQL with a pre-filled token in dev."""

import json

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from graph.context import Context
from payments.runtime import Runtime


class PaymentsGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app bound to the process runtime."""

    allow_queries_via_get = False

    def __init__(
        self, runtime: Runtime, schema: object, *, graphiql_token: str | None = None
    ) -> None:
        super().__init__(
            schema,  # type: ignore[arg-type]
            graphql_ide=None if runtime.settings.is_production else "graphiql",
            allow_queries_via_get=False,
        )
        self.runtime = runtime
        self.graphiql_token = graphiql_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        # Strawberry answers bad requests in plain text; clients expect GraphQL-shaped JSON.
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = bad_request(exc.reason, exc.status_code)
        await response(scope, receive, send)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            runtime=self.runtime,
            authorization=request.headers.get("authorization"),
            request_id=request.headers.get("x-request-id"),
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        html = self.graphql_ide_html
        if self.graphiql_token:
            html = _prefill_authorization(html, self.graphiql_token)
        return HTMLResponse(html)


def _prefill_authorization(html: str, token: str) -> str:
    headers = json.dumps(json.dumps({"Authorization": f"Bearer {token}"}, indent=2))
    return html.replace(
        "React.useState(parameters.headers)", f"React.useState(parameters.headers || {headers})"
    )


def bad_request(message: str, status_code: int = 400) -> JSONResponse:
    """A GraphQL-shaped error body for requests that never reached execution."""
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    return JSONResponse(body, status_code=status_code)
