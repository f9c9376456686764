"""`payments webhooks replay`: re-run processing of stored Stripe events from the command line."""

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.dev_settings import command_settings
from payments.shared.errors import NotFound

if TYPE_CHECKING:
    from models.enums import InboxStatus

REPLAY_HELP = (
    "Re-run processing of stored Stripe events inline, in this process (no worker or "
    "Redis needed); prints each event's new status and exits 1 unless all settled."
)
AddCommand = Callable[..., argparse.ArgumentParser]


def add_webhooks_command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", add: AddCommand
) -> None:
    """Register `webhooks replay EVENT_ID | --failed` on the `payments` parser."""
    webhooks = commands.add_parser("webhooks", help="Operate on stored Stripe webhook events.")
    actions = webhooks.add_subparsers(dest="webhooks_command", required=True)
    replay = add(actions, "replay", _replay, REPLAY_HELP)
    target = replay.add_mutually_exclusive_group(required=True)
    target.add_argument("event_id", nargs="?", metavar="EVENT_ID", help="a stored evt_... id")
    target.add_argument("--failed", action="store_true", help="every FAILED or PARKED event")


def _replay(args: argparse.Namespace) -> None:
    # Imported here so other commands do not pay for loading the ORM and models.
    from payments.gateway_events.inbox import SETTLED
    from payments.platform.logs import configure_logging

    settings = command_settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        outcomes = asyncio.run(_replay_stored(settings.database_url, args.event_id))
    except NotFound as error:
        print(f"payments: {error.message}", file=sys.stderr)
        raise SystemExit(1) from None
    if not outcomes:
        print("payments: no failed or parked events")
    for event_id, status in outcomes.items():
        print(f"{event_id} {status.value}")
    if not all(status in SETTLED for status in outcomes.values()):
        raise SystemExit(1)


async def _replay_stored(database_url: str, event_id: str | None) -> dict[str, "InboxStatus"]:
    from payments.gateway_events.inbox import failed_event_ids
    from payments.gateway_events.service import replay_events
    from payments.platform.database import close_database, open_database

    await open_database(database_url, pool_size=2)
    try:
        return await replay_events([event_id] if event_id else await failed_event_ids())
    finally:
        await close_database()
