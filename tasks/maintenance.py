"""Periodic sweeps: purge expired keys, reconcile half-finished payments, void lapsed holds."""

import dramatiq
import structlog

from payments.cancellations.expiry import cancel_lapsed_authorizations
from payments.idempotency.keys import purge_expired_keys
from payments.reconciliation.service import ReconcilePolicy, reconcile
from tasks.actor_runtime import actor_runtime
from tasks.broker import current_broker

log = structlog.get_logger(__name__)


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=3)
async def purge_idempotency_keys() -> None:
    """Delete idempotency keys past their retention (IDEMPOTENCY_KEY_TTL_HOURS, >= 24 h)."""
    purged = await purge_expired_keys()
    log.info("idempotency_keys_purged", count=purged)


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=0)
async def reconcile_payments() -> None:
    """Settle payments and refunds a crash left PENDING, and poll overdue webhooks."""
    changed = await reconcile(actor_runtime().services, ReconcilePolicy())
    log.info("payments_reconciled", changed=changed)


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=0)
async def expire_authorizations() -> None:
    """Cancel (reason EXPIRED) authorizations not captured by their captureBefore."""
    canceled = await cancel_lapsed_authorizations(actor_runtime().services)
    log.info("authorizations_expired", count=canceled)
