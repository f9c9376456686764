"""The ASGI GraphQL endpoint: context per request, GraphiQL with a pre-filled token in dev."""

from types import NoneType
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from graph.context import Context
from graph.error_shaping import refused_before_execution
from graph.graphiql.page import graphiql_page
from graph.http.anonymous_budget import client_address
from graph.http.media_types import GRAPHQL_RESPONSE_JSON, JSON, response_media_type
from graph.http.refusals import refusal
from graph.http.request_json import JSONMessageRefused, read_json_object
from graph.live.transport import CONNECTION_INIT_TIMEOUT, LiveTransport
from payments.live.hub import Hub
from payments.live.limits import ConnectionLimit, PendingConnections
from payments.runtime import Runtime


class PaymentsGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app bound to the process runtime and its live hub.

    Subscriptions speak graphql-transport-ws only: the legacy graphql-ws protocol is off.
    Responses follow GraphQL over HTTP: a client that accepts
    `application/graphql-response+json` gets it, and a request error under it is a 400
    without `data`; `application/json` clients get 200 with `data: null` as before.
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
            connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
        )
        self.runtime = runtime
        self.graphiql_token = graphiql_token
        self.hub = hub
        self.connection_limit = ConnectionLimit(settings.live_max_connections_per_principal)
        self.pending_connections = PendingConnections(
            settings.live_max_unauthenticated_connections,
            settings.live_max_unauthenticated_per_address,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        # Strawberry answers bad requests in plain text; clients expect GraphQL-shaped JSON.
        request = Request(scope=scope, receive=receive)
        try:
            answer = self.answer_post if _posts_json(scope) else self.run
            response = await answer(request)
        except HTTPException as exc:
            media_type = response_media_type(request.headers.get("accept"))
            response = bad_request(exc.reason, exc.status_code, media_type)
        await response(scope, receive, send)

    async def answer_post(self, request: Request) -> Response:
        """One operation POSTed as JSON, answered as Strawberry's `run` would, with less work.

        Strawberry's general path also weighs GET, the IDE, multipart, batches and streamed
        transports (all off or refused before here): 8-16% of a payment(id)'s CPU in one
        process (issue 31).
        The checks of the body are Strawberry's, with its messages.
        """
        data = self.parse_json(await request.body())
        for name, (kinds, message) in _OPERATION_PARTS.items():
            if not isinstance(data.get(name), kinds):
                raise HTTPException(400, message)
        context = await self.get_context(request, None)  # type: ignore[arg-type]
        try:
            result = await self.schema.execute(
                data.get("query"),
                data.get("variables"),
                context,
                operation_name=data.get("operationName"),
                allowed_operation_types=OperationType.from_http("POST"),
                operation_extensions=data.get("extensions"),
            )
        except CannotGetOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason()) from e
        except InvalidOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason("POST")) from e
        except MissingQueryError as e:
            raise HTTPException(400, "No GraphQL query found in the request") from e
        media_type = response_media_type(request.headers.get("accept"))
        return _json_response(self._shaped(result, media_type), media_type, self.encode_json)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        # Carried to create_response, which Strawberry does not hand the request.
        sub_response.media_type = response_media_type(request.headers.get("accept"))
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        return self._shaped(result, response_media_type(request.headers.get("accept")))

    @staticmethod
    def _shaped(result: ExecutionResult, media_type: str) -> GraphQLHTTPResponse:
        body = process_result(result)
        if media_type == GRAPHQL_RESPONSE_JSON and refused_before_execution(result):
            del body["data"]  # nothing executed, so there is no data, not even null
        return body

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        if sub_response.media_type == GRAPHQL_RESPONSE_JSON and isinstance(response_data, dict):
            return _json_response(response_data, GRAPHQL_RESPONSE_JSON, self.encode_json)
        return super().create_response(response_data, sub_response)

    def encode_json(self, data: object) -> str:
        """Responses and WebSocket messages (text frames, as graphql-transport-ws requires).

        orjson writes a page in a fraction of json's time; what it refuses (integers past
        64 bits, lone surrogates), Strawberry's json.dumps still writes.
        """
        try:
            return orjson.dumps(data).decode()
        except orjson.JSONEncodeError:
            return str(super().encode_json(data))

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
        return Context(
            runtime=self.runtime,
            authorization=request.headers.get("authorization"),
            live=self.hub,
            client_address=client_address(request.scope),
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        local = self.runtime.settings.graphiql_assets_dir is not None
        html, policy = graphiql_page(self.graphql_ide_html, self.graphiql_token, local_assets=local)
        return HTMLResponse(html, headers={"content-security-policy": policy})


_OPERATION_PARTS = {
    "query": (
        (str, NoneType),
        "The GraphQL operation's `query` must be a string or null, if provided.",
    ),
    "variables": (
        (dict, NoneType),
        "The GraphQL operation's `variables` must be an object or null, if provided.",
    ),
    "extensions": (
        (dict, NoneType),
        "The GraphQL operation's `extensions` must be an object or null, if provided.",
    ),
}


def _posts_json(scope: Scope) -> bool:
    # The guard in front has refused other POSTs and names the media type canonically.
    return scope["method"] == "POST" and (b"content-type", b"application/json") in scope["headers"]


def _json_response(body: GraphQLHTTPResponse, media_type: str, encode: Any) -> Response:
    """The answer to one operation; under graphql-response+json, no data is a request error."""
    status = 400 if media_type == GRAPHQL_RESPONSE_JSON and "data" not in body else 200
    return Response(encode(body), status_code=status, media_type=media_type)


def bad_request(message: str, status_code: int = 400, media_type: str = JSON) -> JSONResponse:
    """A BAD_REQUEST refusal: the request never reached execution."""
    return refusal(message, "BAD_REQUEST", status_code, media_type)
