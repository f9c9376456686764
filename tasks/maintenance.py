"""Periodic sweeps: purge expired idempotency keys, reconcile half-finished payments."""

import dramatiq
import structlog

from payments.idempotency.keys import purge_expired_keys
from payments.reconciliation.service import ReconcilePolicy, reconcile
from tasks.broker import current_broker
from tasks.runtime import actor_runtime

log = structlog.get_logger(__name__)


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=3)
async def purge_idempotency_keys() -> None:
    """Delete idempotency keys past their retention (IDEMPOTENCY_KEY_TTL_HOURS, >= 24 h)."""
    purged = await purge_expired_keys()
    log.info("idempotency_keys_purged", count=purged)


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=0)
async def reconcile_payments() -> None:
    """Settle payments and refunds a crash left PENDING, and poll overdue webhooks."""
    changed = await reconcile(actor_runtime().gateway, ReconcilePolicy())
    log.info("payments_reconciled", changed=changed)
