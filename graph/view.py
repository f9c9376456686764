"""The ASGI GraphQL endpoint: context per request, GraphiQL with a pre-filled token in dev."""

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from graph.context import Context
from graph.graphiql import graphiql_page
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
        return Context(runtime=self.runtime, authorization=request.headers.get("authorization"))

    async def render_graphql_ide(self, request: Request) -> Response:
        local = self.runtime.settings.graphiql_assets_dir is not None
        html, policy = graphiql_page(self.graphql_ide_html, self.graphiql_token, local_assets=local)
        return HTMLResponse(html, headers={"content-security-policy": policy})


def bad_request(message: str, status_code: int = 400) -> JSONResponse:
    """A GraphQL-shaped error body for requests that never reached execution."""
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    return JSONResponse(body, status_code=status_code)
