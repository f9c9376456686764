"""The `payments` command line: dev, serve, worker, migrate, schema, token, operator commands."""

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Sequence

from app.delivery_cli import add_deliveries_command
from app.endpoint_cli import add_endpoints_command
from app.reconcile_cli import add_reconcile_command
from app.webhook_cli import add_webhooks_command
from payments.shared.auth import ALL_SCOPES, CUSTOMER_SCOPES, issue_token
from payments.shared.errors import SettingsError
from payments.shared.multiprocess import multiprocess_directory
from payments.shared.settings import Settings, load_settings

DEV_HOST, DEV_PORT = "127.0.0.1", 8000
# On SIGTERM uvicorn stops accepting and lets in-flight requests finish for this long.
GRACEFUL_SHUTDOWN_SECONDS = 20


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script; a configuration error is one line, exit 2."""
    args = _parser().parse_args(argv)
    try:
        args.handler(args)
    except SettingsError as exc:
        print(f"payments: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="payments", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    dev = _add(commands, "dev", _dev, "Run everything in one process on embedded defaults.")
    dev.add_argument("--host", default=DEV_HOST)
    dev.add_argument("--port", type=int, default=DEV_PORT)
    serve = _add(commands, "serve", _serve, "Run the API with uvicorn.")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    worker = _add(commands, "worker", _worker, "Run Dramatiq workers and the outbox relay.")
    worker.add_argument("--processes", type=int, default=1)
    worker.add_argument("--threads", type=int, default=4)
    _add(commands, "migrate", _migrate, "Apply migrations to DATABASE_URL.")
    _add(commands, "export-schema", _export_schema, "Print the GraphQL SDL.")
    token = _add(commands, "token", _token, "Print a signed JWT for development and tests.")
    token.add_argument("--sub", required=True, help="the principal (customer id)")
    scopes = token.add_mutually_exclusive_group()
    scopes.add_argument(
        "--scope",
        default=CUSTOMER_SCOPES,
        help=f'space-separated scopes (default: a customer\'s, "{CUSTOMER_SCOPES}")',
    )
    scopes.add_argument(
        "--admin",
        dest="scope",
        action="store_const",
        const=ALL_SCOPES,
        help="every scope, payments:admin included (a BFF or back office)",
    )
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    add_webhooks_command(commands, _add)
    add_deliveries_command(commands, _add)
    add_endpoints_command(commands, _add)
    add_reconcile_command(commands, _add)
    return parser


def _add(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    name: str,
    handler: Callable[[argparse.Namespace], None],
    help_text: str,
) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help_text, description=help_text)
    command.set_defaults(handler=handler)
    return command


def _dev(args: argparse.Namespace) -> None:
    from app.dev_settings import dev_settings
    from app.devserver import run_dev

    run_dev(dev_settings(), args.host, args.port)


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.server_bounds import UVICORN_BOUNDS
    from payments.gateways.simulated.gateway import own_webhook_url

    settings = load_settings()
    _configure_logging(settings)
    # uvicorn's workers read their settings from the environment: tell them where they listen.
    os.environ.setdefault("SIMULATED_WEBHOOK_URL", own_webhook_url(args.host, args.port))
    # Each worker writes its samples to one directory, and /metrics sums them.
    workers = multiprocess_directory() if args.workers > 1 else contextlib.nullcontext()
    with workers:
        uvicorn.run(
            "app.asgi:app",
            host=args.host,
            port=args.port,
            workers=args.workers,
            proxy_headers=True,
            # The client address (the anonymous rate budget's key) comes from these proxies.
            forwarded_allow_ips=settings.forwarded_allow_ips,
            log_config=None,
            access_log=False,  # RequestContext writes one JSON line per request instead
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            **UVICORN_BOUNDS,
        )


def _worker(args: argparse.Namespace) -> None:
    from app.worker import run_worker
    from tasks.worker_metrics import worker_metrics_environment

    settings = load_settings()
    with worker_metrics_environment(settings.worker_metrics_host, settings.worker_metrics_port):
        run_worker(settings, processes=args.processes, threads=args.threads)


def _migrate(args: argparse.Namespace) -> None:
    from payments.platform.database import apply_migrations

    settings = load_settings()
    asyncio.run(apply_migrations(settings.database_url))
    print("payments: migrations applied")


def _export_schema(args: argparse.Namespace) -> None:
    from graph.schema import export_sdl

    sys.stdout.write(export_sdl())


def _token(args: argparse.Namespace) -> None:
    # Dev defaults only fill what the environment leaves unset, so a real JWT_SECRET wins.
    settings = load_settings(dev=True)
    if settings.jwt_secret is None:
        raise SettingsError("JWT_SECRET: required to sign tokens (JWKS keys are not ours)")
    secret = settings.jwt_secret.get_secret_value()
    print(
        issue_token(
            secret,
            args.sub,
            args.scope,
            args.ttl,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )


def _configure_logging(settings: Settings) -> None:
    from payments.platform.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
