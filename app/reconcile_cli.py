"""`payments reconcile`: recover missed Stripe events and settle half-finished payments now."""

import argparse
import asyncio
from collections.abc import Callable

from payments.shared.settings import Settings, load_settings

RECONCILE_HELP = (
    "Once, in this process: store and apply the events in the gateway's event list whose "
    "webhooks never arrived, then settle payments and refunds a crash left pending."
)
AddCommand = Callable[..., argparse.ArgumentParser]


def add_reconcile_command(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", add: AddCommand
) -> None:
    """Register `reconcile` on the `payments` parser (the workers also run it every minute)."""
    add(commands, "reconcile", _reconcile, RECONCILE_HELP)


def _reconcile(args: argparse.Namespace) -> None:
    from payments.platform.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    recovered, applied, reconciled = asyncio.run(_run(settings))
    print(
        f"payments: {recovered} missed gateway events recovered ({applied} applied), "
        f"{reconciled} payments and refunds reconciled"
    )


async def _run(settings: Settings) -> tuple[int, int, int]:
    # Imported here so other commands do not pay for loading the ORM and the gateway.
    from app.wiring import build_runtime
    from payments.gateway_events.recovery import apply_recovered_now, recover_missed_events
    from payments.platform.database import close_database, open_database
    from payments.reconciliation.service import ReconcilePolicy, reconcile

    await open_database(settings.database_url, pool_size=2)
    # Every rail this process has: each payment is settled by the one that moved its money.
    runtime = build_runtime(settings)
    try:
        row_ids = await recover_missed_events(runtime.gateway)
        applied = await apply_recovered_now(row_ids)
        return len(row_ids), applied, await reconcile(runtime.services, ReconcilePolicy())
    finally:
        await runtime.aclose()
        await close_database()
