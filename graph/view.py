"""The ASGI GraphQL endpoint: context per request, GraphiQL with a pre-filled token in dev."""

from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from graph.context import Context
from graph.graphiql import graphiql_page
from graph.live.transport import LiveTransport
from graph.request_json import JSONMessageRefused, read_json_object
from payments.live.hub import Hub
from payments.live.limits import ConnectionLimit
from payments.runtime import Runtime


class PaymentsGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app bound to the process runtime and its live hub.

    Subscriptions speak graphql-transport-ws only: the legacy graphql-ws protocol is off.
    """

    allow_queries_via_get = False
    graphql_transport_ws_handler_class = LiveTransport

    def __init__(
        self,
        runtime: Runtime,
        schema: object,
        *,
        graphiql_token: str | None = None,
        hub: Hub | None = None,
    ) -> None:
        settings = runtime.settings
        super().__init__(
            schema,  # type: ignore[arg-type]
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=settings.live_max_subscriptions_per_connection,
        )
        self.runtime = runtime
        self.graphiql_token = graphiql_token
        self.hub = hub
        self.connection_limit = ConnectionLimit(settings.live_max_connections_per_principal)

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

    def decode_json(self, data: str | bytes) -> object:
        """WebSocket messages and bodies alike: one JSON object, nested boundedly."""
        return read_json_object(data)

    def parse_json(self, data: str | bytes) -> Any:
        # Strawberry assumes an object and fails on `null` or a number: say why with a 400.
        try:
            return read_json_object(data)
        except JSONMessageRefused as error:
            raise HTTPException(400, error.msg) from None

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        authorization = request.headers.get("authorization")
        return Context(runtime=self.runtime, authorization=authorization, live=self.hub)

    async def render_graphql_ide(self, request: Request) -> Response:
        local = self.runtime.settings.graphiql_assets_dir is not None
        html, policy = graphiql_page(self.graphql_ide_html, self.graphiql_token, local_assets=local)
        return HTMLResponse(html, headers={"content-security-policy": policy})


def bad_request(message: str, status_code: int = 400) -> JSONResponse:
    """A GraphQL-shaped error body for requests that never reached execution."""
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    return JSONResponse(body, status_code=status_code)
