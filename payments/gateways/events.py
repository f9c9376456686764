"""Each provider's readers of its webhook events (envelope, then update), by provider name."""

from collections.abc import Callable
from dataclasses import dataclass

from payments.gateways.base import EventEnvelope, GatewayUpdate
from payments.gateways.paypal.updates import read_paypal_envelope, read_paypal_event
from payments.gateways.stripe.updates import read_stripe_envelope, read_stripe_event


@dataclass(frozen=True)
class EventReader:
    """How one provider's room reads its events: the envelope to store, the update to apply."""

    envelope: Callable[[bytes], EventEnvelope | None]
    update: Callable[[str], GatewayUpdate]


# A provider's room joins here (and with a webhook route), never in the domain.
READERS: dict[str, EventReader] = {
    "stripe": EventReader(envelope=read_stripe_envelope, update=read_stripe_event),
    "paypal": EventReader(envelope=read_paypal_envelope, update=read_paypal_event),
}


def read_event(provider: str, payload: str) -> GatewayUpdate:
    """The update a stored event of `provider` reports, read by that provider's room."""
    return READERS[provider].update(payload)
