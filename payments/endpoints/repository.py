"""The SQL of event_endpoints: the registry's rows, their secrets and their run of failures."""

from typing import Any

from tortoise.exceptions import IntegrityError

from models.endpoint import EventEndpoint
from payments.shared.rows import fetch_rows, select_one, update_where

# A delivered one ends the run (this batch's dead ones start the next); at the threshold the
# endpoint is disabled with its reason, in the same statement.
_NOTE_OUTCOMES = """
UPDATE event_endpoints SET
    consecutive_dead = CASE WHEN $2 THEN $3 ELSE consecutive_dead + $3 END,
    enabled = enabled AND (CASE WHEN $2 THEN $3 ELSE consecutive_dead + $3 END) < $4,
    disabled_reason = CASE
        WHEN enabled AND (CASE WHEN $2 THEN $3 ELSE consecutive_dead + $3 END) >= $4 THEN $5
        ELSE disabled_reason END
WHERE id = $1"""


async def get(endpoint_id: str) -> EventEndpoint | None:
    """The endpoint with this id (None for any id no row could have)."""
    return await select_one(EventEndpoint, id=endpoint_id)


async def page(first: int, after: str | None) -> list[EventEndpoint]:
    """Up to `first` endpoints, oldest first (ids grow with time), after the id `after`."""
    query = EventEndpoint.all()
    if after is not None:
        query = query.filter(id__gt=after)
    return await query.order_by("id").limit(first)


async def enabled() -> list[EventEndpoint]:
    """Every enabled endpoint."""
    return await EventEndpoint.filter(enabled=True).order_by("id")


async def insert(endpoint: EventEndpoint) -> None:
    await endpoint.save()


async def change(endpoint_id: str, changes: dict[str, Any]) -> EventEndpoint | None:
    """Set `changes` on the endpoint; the endpoint as it is now, None when there is none."""
    if changes and not await update_where(EventEndpoint, changes, id=endpoint_id):
        return None
    return await get(endpoint_id)


async def delete(endpoint_id: str) -> int:
    return await EventEndpoint.filter(id=endpoint_id).delete()


async def define_configured(name: str, url: str, secret: str) -> str:
    """Create the endpoint variable `name` defines, once; later give it the URL and secret.

    Returns the endpoint's id.
    """
    changes: dict[str, Any] = {"url": url, "secret": secret}
    if not await update_where(EventEndpoint, changes, configured_as=name):
        try:
            await EventEndpoint.create(url=url, secret=secret, description=name, configured_as=name)
        except IntegrityError:  # another process starting at the same moment created it first
            await update_where(EventEndpoint, changes, configured_as=name)
    endpoint = await select_one(EventEndpoint, configured_as=name)
    assert endpoint is not None  # created or updated just now; endpoints are deleted by admins
    return endpoint.id


async def note_outcomes(
    endpoint_id: str, delivered: int, dead: int, disable_after: int, reason: str
) -> None:
    """Count dead-lettered deliveries since the last delivered one; disable at `disable_after`.

    One statement, so concurrent batches' outcomes add up and the last one disables.
    """
    await fetch_rows(_NOTE_OUTCOMES, [endpoint_id, delivered > 0, dead, disable_after, reason])
