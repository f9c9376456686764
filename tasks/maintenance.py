"""Periodic sweeps: purge expired idempotency keys."""

import dramatiq
import structlog

from payments.idempotency import purge_expired_keys
from tasks.broker import current_broker

log = structlog.get_logger(__name__)


@dramatiq.actor(broker=current_broker(), queue_name="maintenance", max_retries=3)
async def purge_idempotency_keys() -> None:
    """Delete idempotency keys past their retention (IDEMPOTENCY_KEY_TTL_HOURS, >= 24 h)."""
    purged = await purge_expired_keys()
    log.info("idempotency_keys_purged", count=purged)
