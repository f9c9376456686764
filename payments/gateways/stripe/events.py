"""Reading Stripe's Events list, the record of every event whether its webhook arrived or not."""

import stripe
from stripe.params import EventListParams

from payments.gateways.base import Json
from payments.gateways.stripe.updates import HANDLED_EVENT_TYPES

# Stripe's largest page; a minute's worth of events is rarely more than one page.
PAGE_SIZE = 100


async def list_events(client: stripe.StripeClient, created_after: int) -> list[Json]:
    """Every event we act on created after `created_after`, oldest first, as plain JSON."""
    params: EventListParams = {
        "created": {"gt": created_after},
        "types": sorted(HANDLED_EVENT_TYPES),
        "limit": PAGE_SIZE,
    }
    events: list[Json] = []
    while True:
        page = await client.v1.events.list_async(params)
        events += [event.to_dict(for_json=True) for event in page.data]
        if not page.has_more or not page.data:
            # Stripe lists newest first; events are applied in the order they happened.
            return sorted(events, key=lambda event: event.get("created") or 0)
        params["starting_after"] = page.data[-1].id
