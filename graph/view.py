"""The ASGI GraphQL endpoint: context per request, GraphiQL with a pre-filled token in dev."""

import json

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
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
