"""The composition root of the API: builds the Starlette app from settings."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import strawberry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from app.asgi_middleware import CrossOrigin, RequestContext
from app.authentication_page import authentication_routes
from app.body_deadline import BodyDeadline
from app.paypal_page import simulated_paypal_routes
from app.wiring import build_paypal_verifier, build_runtime
from graph.graphiql.assets import graphiql_asset_routes
from graph.http.anonymous_budget import AnonymousBudget
from graph.http.guard import GraphQLRequestGuard
from graph.http.view import PaymentsGraphQL
from graph.protection.limits import DocumentLimits
from graph.schema import build_schema
from payments.gateways.base import Gateway
from payments.live.hub import Hub
from payments.platform.availability import check_readiness
from payments.platform.database import close_database, open_database
from payments.shared.metrics import mark_process_dead, render_metrics
from payments.shared.settings import Settings
from tasks.actor_runtime import set_actor_runtime
from tasks.broker import setup_broker
from tasks.in_process import InProcessBroker
from webhooks.routes import paypal_webhook_route, stripe_webhook_route


def create_app(
    settings: Settings,
    *,
    gateway: Gateway | None = None,
    graphiql_token: str | None = None,
    owns_database: bool = True,
) -> Starlette:
    """The API app; the lifespan opens and closes the database, Redis and the gateway.

    `owns_database=False` leaves the Tortoise connections to the caller (a process
    that hosts several apps, such as the test suite).
    """
    runtime = build_runtime(settings, gateway)
    broker = setup_broker(settings)
    # Actor modules can be imported only once the broker exists.
    from tasks.kafka_publishing import kafka_publishing
    from tasks.outbox_relay import in_process_worker
    from tasks.stripe_events import enqueue_stripe_event

    if isinstance(broker, InProcessBroker):
        set_actor_runtime(runtime)
    hub = Hub(settings.redis_url, settings.queue_namespace)
    graphql = PaymentsGraphQL(runtime, _schema(settings), graphiql_token=graphiql_token, hub=hub)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if owns_database:
            await open_database(settings.database_url, settings.database_pool_size)
        # What start-up made lives as long as the process; frozen, full collections skip
        # it (issue 7: payment(id)'s p99 went from ~210 ms to ~90 ms at 32 connections).
        gc.freeze()
        try:
            async with live_feed(hub):
                if isinstance(broker, InProcessBroker):
                    async with (
                        in_process_worker(broker, settings, hub.dispatch_events),
                        kafka_publishing(settings),
                    ):
                        yield
                else:
                    yield
        finally:
            await runtime.aclose()
            if owns_database:
                await close_database()
            mark_process_dead()

    async def ready(request: Request) -> Response:
        checks = await check_readiness(runtime.redis)
        healthy = all(state == "ok" for state in checks.values())
        return JSONResponse(checks, status_code=200 if healthy else 503)

    routes = [
        Route(
            "/graphql",
            AnonymousBudget(GraphQLRequestGuard(graphql, settings.graphql_max_body_bytes), runtime),
            methods=["GET", "POST"],
        ),
        WebSocketRoute("/graphql", graphql),
        Route("/health/live", _live),
        Route("/health/ready", ready),
        Route("/metrics", _metrics),
        stripe_webhook_route(runtime, enqueue=enqueue_stripe_event),
        # No PayPal rail (production without credentials): nothing PayPal could tell us.
        *(
            [
                paypal_webhook_route(
                    build_paypal_verifier(settings, runtime.paypal), enqueue_stripe_event
                )
            ]
            if runtime.paypal is not None
            else []
        ),
        *authentication_routes(runtime.gateway),
        *simulated_paypal_routes(runtime.paypal),
        *graphiql_asset_routes(settings, graphql.graphql_ide_html),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=_middleware(settings))
    app.state.runtime = runtime
    return app


@asynccontextmanager
async def live_feed(hub: Hub) -> AsyncIterator[None]:
    """The hub's Redis subscription runs as long as the app (none without Redis)."""
    stop = asyncio.Event()
    listening = asyncio.create_task(hub.run(stop))
    try:
        yield
    finally:
        stop.set()
        await listening
        await hub.aclose()


def _schema(settings: Settings) -> "strawberry.Schema":
    limits = DocumentLimits(
        max_depth=settings.graphql_max_depth,
        max_tokens=settings.graphql_max_tokens,
        max_aliases=settings.graphql_max_aliases,
        introspection=not settings.is_production,
    )
    return build_schema(limits, hide_suggestions=settings.is_production)


def _middleware(settings: Settings) -> list[Middleware]:
    return [
        Middleware(RequestContext, production=settings.is_production),
        Middleware(BodyDeadline, seconds=settings.http_read_timeout_seconds),
        Middleware(
            CrossOrigin,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=["x-request-id"],
            max_age=600,
        ),
    ]


async def _live(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _metrics(request: Request) -> Response:
    body, content_type = render_metrics()
    return PlainTextResponse(body, media_type=content_type)
