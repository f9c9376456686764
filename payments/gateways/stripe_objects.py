"""Reading Stripe's objects safely, and what an unknown outcome becomes.

Stripe omits conditional fields, sends null, or sends an id where an object may be
expanded; these helpers read every such field so absent, null and an id all work.
"""

import stripe
import structlog

from payments.shared.errors import GatewayUnavailable

log = structlog.get_logger(__name__)


def _field(obj: object, name: str) -> object:
    """`obj[name]`, or None when Stripe left the key out, sent null, or `obj` is no object.

    Stripe omits conditional fields and the SDK raises AttributeError for an absent key
    (StripeObject is not a dict: no .get()), so every field Stripe may omit is read here.
    """
    return obj[name] if isinstance(obj, stripe.StripeObject) and name in obj else None


def _text(obj: object, name: str) -> str | None:
    value = _field(obj, name)
    return value if isinstance(value, str) else None


def _expanded(obj: object, name: str) -> stripe.StripeObject | None:
    """A nested or expanded object; None when absent, null, or only an id was sent."""
    value = _field(obj, name)
    return value if isinstance(value, stripe.StripeObject) else None


def _id(obj: object, name: str) -> str | None:
    """An expandable field's id, whether Stripe sent the id or the expanded object."""
    value = _field(obj, name)
    return _text(value, "id") if isinstance(value, stripe.StripeObject) else _text(obj, name)


def _unavailable(error: stripe.StripeError) -> GatewayUnavailable:
    # Stripe's message is not passed on: it can quote (masked) keys and our parameters.
    fields = {
        "error": type(error).__name__,
        "http_status": error.http_status,
        "code": error.code,
        "request_id": error.request_id,
    }
    if isinstance(error, stripe.IdempotencyError):
        # Our keys are derived from our ids: one key with other parameters is a bug here.
        log.error("stripe_idempotency_key_conflict", **fields)
        return GatewayUnavailable("The payment gateway refused a reused idempotency key.")
    log.warning("stripe_unavailable", **fields)
    return GatewayUnavailable()
