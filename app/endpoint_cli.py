"""`payments endpoints list|create|update|rotate|delete|recover`: the event endpoint registry."""

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from app.delivery_cli import with_database
from app.dev_settings import command_settings
from models.endpoint import EventEndpoint
from payments.shared.auth import ALL_SCOPES, Principal
from payments.shared.errors import PaymentsError

AddCommand = Callable[..., argparse.ArgumentParser]
# Whoever runs the command holds the database's credentials: an operator with every scope.
OPERATOR = Principal("system:cli", frozenset(ALL_SCOPES.split()))


def add_endpoints_command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", add: AddCommand
) -> None:
    """Register `endpoints list|create|update|rotate|delete|recover`."""
    endpoints = commands.add_parser("endpoints", help="Manage where payment events go.")
    actions = endpoints.add_subparsers(dest="endpoints_command", required=True)
    add(actions, "list", _list, "List the event endpoints, oldest first.")
    create = add(actions, "create", _create, "Register an endpoint; prints its secret once.")
    create.add_argument("url")
    _add_details(create)
    update = add(actions, "update", _update, "Change an endpoint.")
    update.add_argument("id", metavar="ENDPOINT_ID")
    update.add_argument("--url")
    _add_details(update)
    state = update.add_mutually_exclusive_group()
    state.add_argument("--enable", dest="enabled", action="store_const", const=True)
    state.add_argument("--disable", dest="enabled", action="store_const", const=False)
    rotate = add(actions, "rotate", _rotate, "A new secret; the old one signs for a grace period.")
    rotate.add_argument("id", metavar="ENDPOINT_ID")
    delete = add(actions, "delete", _delete, "Remove an endpoint and its deliveries.")
    delete.add_argument("id", metavar="ENDPOINT_ID")
    recover = add(actions, "recover", _recover, "Send again what it did not get since a time.")
    recover.add_argument("id", metavar="ENDPOINT_ID")
    recover.add_argument("--since", required=True, type=datetime.fromisoformat, help="ISO 8601")


def _add_details(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--event-type", dest="event_types", action="append", help="repeatable; default *"
    )
    command.add_argument("--description")


def _list(args: argparse.Namespace) -> None:
    from payments.endpoints.service import list_endpoints

    page = _run(list_endpoints(OPERATOR, 100, None))
    for endpoint in page.endpoints:
        _print(endpoint)


def _create(args: argparse.Namespace) -> None:
    from payments.endpoints.service import create_endpoint
    from payments.endpoints.urls import UrlRules

    rules = UrlRules.from_settings(command_settings())
    endpoint, secret = _run(
        create_endpoint(OPERATOR, rules, args.url, args.event_types, args.description)
    )
    _print(endpoint)
    print(f"secret {secret}  (shown once)")


def _update(args: argparse.Namespace) -> None:
    from payments.endpoints.service import EndpointChanges, update_endpoint
    from payments.endpoints.urls import UrlRules

    rules = UrlRules.from_settings(command_settings())
    changes = EndpointChanges(args.url, args.event_types, args.enabled, args.description)
    _print(_run(update_endpoint(OPERATOR, rules, args.id, changes)))


def _rotate(args: argparse.Namespace) -> None:
    from payments.endpoints.service import rotate_secret

    grace = timedelta(seconds=command_settings().endpoint_secret_grace_seconds)
    endpoint, secret = _run(rotate_secret(OPERATOR, args.id, grace))
    _print(endpoint)
    print(f"secret {secret}  (shown once; the old one signs too for {grace})")


def _delete(args: argparse.Namespace) -> None:
    from payments.endpoints.service import delete_endpoint

    _print(_run(delete_endpoint(OPERATOR, args.id)))
    print("payments: endpoint deleted")


def _recover(args: argparse.Namespace) -> None:
    from payments.endpoints.service import recover_endpoint

    _print(_run(recover_endpoint(OPERATOR, args.id, args.since)))
    print("payments: missed events re-opened (the worker's relay sends them)")


def _run(work: Coroutine[Any, Any, Any]) -> Any:
    try:
        return asyncio.run(with_database(command_settings(), work))
    except PaymentsError as error:
        raise SystemExit(f"payments: {error.code}: {error.message}") from None


def _print(endpoint: EventEndpoint) -> None:
    state = "enabled" if endpoint.enabled else f"disabled ({endpoint.disabled_reason})"
    types = ",".join(endpoint.event_types)
    print(f"{endpoint.id} {endpoint.url} [{types}] {state} {endpoint.description or ''}")
