"""`payments deliveries list | redrive`: inspect and re-drive outgoing event deliveries."""

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from app.dev_settings import command_settings
from payments.shared.settings import Settings

AddCommand = Callable[..., argparse.ArgumentParser]
T = TypeVar("T")


def add_deliveries_command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", add: AddCommand
) -> None:
    """Register `deliveries list [--failed]` and `deliveries redrive [EVENT_ID | --all-dead]`."""
    deliveries = commands.add_parser("deliveries", help="Inspect and re-drive event deliveries.")
    actions = deliveries.add_subparsers(dest="deliveries_command", required=True)
    listing = add(actions, "list", _list, "List recent deliveries, newest first.")
    listing.add_argument("--failed", action="store_true", help="only dead or retrying ones")
    redrive = add(actions, "redrive", _redrive, "Deliver dead-lettered events again.")
    target = redrive.add_mutually_exclusive_group(required=True)
    target.add_argument("event_id", nargs="?", metavar="EVENT_ID", help="an evt_... id")
    target.add_argument("--all-dead", action="store_true", help="every dead delivery")


def _list(args: argparse.Namespace) -> None:
    from payments.outbox.relay import list_deliveries

    for d in asyncio.run(with_database(command_settings(), list_deliveries(args.failed))):
        print(
            f"{d.event_id} {d.consumer} {d.status.value} attempts={d.attempts} "
            f"last_status={d.last_status_code} error={d.last_error or ''}"
        )


def _redrive(args: argparse.Namespace) -> None:
    from payments.outbox.relay import redrive

    ids = asyncio.run(with_database(command_settings(), redrive(args.event_id)))
    print(f"payments: {len(ids)} deliveries re-driven (the worker's relay sends them)")


async def with_database(settings: Settings, work: Coroutine[Any, Any, T]) -> T:
    """Run `work` with the database of `settings` open (an operator command)."""
    from payments.platform.database import close_database, open_database

    await open_database(settings.database_url, pool_size=2)
    try:
        return await work
    finally:
        await close_database()
