"""Each provider's reader of its stored webhook events, by the inbox's provider name."""

from collections.abc import Callable

from payments.gateways.base import GatewayUpdate
from payments.gateways.stripe.updates import read_stripe_event

# A provider's room joins here (and with a webhook route), never in the domain.
_READERS: dict[str, Callable[[str], GatewayUpdate]] = {"stripe": read_stripe_event}


def read_event(provider: str, payload: str) -> GatewayUpdate:
    """The update a stored event of `provider` reports, read by that provider's room."""
    return _READERS[provider](payload)
