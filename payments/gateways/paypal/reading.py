"""PayPal's orders, captures and authorizations read as our results.

Fields PayPal leaves out until they apply (`payments`, `status_details`, `expiration_time`,
`supplementary_data`) are read as absent, never assumed; amounts are decimal strings.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from models.enums import NextActionType, PaymentStatus
from payments.gateways.base import ChargeResult, Json, NextAction
from payments.shared.money import CURRENCY_EXPONENTS

# Where PayPal sends the buyer to approve: `payer-action` when the order names its payment
# source (our create does), `approve` for an order created without one.
_APPROVAL_RELS = ("payer-action", "approve")
_OPEN_ORDER = frozenset({"CREATED", "SAVED", "APPROVED", "PAYER_ACTION_REQUIRED"})


def objects(value: Any) -> list[Json]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(obj: Json, name: str) -> str | None:
    value = obj.get(name)
    return value if isinstance(value, str) and value else None


def minor_units(money: Any) -> int | None:
    """A PayPal amount (`{currency_code, value}`) in minor units; None if unreadable."""
    if not isinstance(money, dict):
        return None
    currency, value = text(money, "currency_code"), text(money, "value")
    if currency is None or value is None or currency not in CURRENCY_EXPONENTS:
        return None
    try:
        return int(Decimal(value).scaleb(CURRENCY_EXPONENTS[currency]))
    except (InvalidOperation, ValueError):
        return None


def paypal_money(amount: int, currency: str) -> Json:
    """Our minor units as PayPal's decimal string with the currency's own decimals."""
    exponent = CURRENCY_EXPONENTS[currency]
    value = Decimal(amount).scaleb(-exponent)
    return {"currency_code": currency, "value": f"{value:.{exponent}f}"}


def approval_url(order: Json) -> str | None:
    links = {text(link, "rel"): text(link, "href") for link in objects(order.get("links"))}
    return next((links[rel] for rel in _APPROVAL_RELS if links.get(rel)), None)


def order_payments(order: Json) -> Json:
    units = objects(order.get("purchase_units"))
    payments = units[0].get("payments") if units else None
    return payments if isinstance(payments, dict) else {}


def captures_of(order: Json) -> list[Json]:
    return objects(order_payments(order).get("captures"))


def authorizations_of(order: Json) -> list[Json]:
    return objects(order_payments(order).get("authorizations"))


def refunds_of(order: Json) -> list[Json]:
    return objects(order_payments(order).get("refunds"))


def order_result(order: Json) -> ChargeResult:
    """Where the order leaves our payment: waiting for the buyer, held, captured or closed."""
    order_id = text(order, "id") or ""
    status = text(order, "status")
    captures, authorizations = captures_of(order), authorizations_of(order)
    if captures:
        return _captured(order_id, captures)
    if authorizations:
        return authorization_result(order_id, authorizations[0])
    if status in _OPEN_ORDER:
        url = approval_url(order)
        action = NextAction(NextActionType.REDIRECT_TO_URL, redirect_url=url) if url else None
        return ChargeResult(order_id, PaymentStatus.REQUIRES_ACTION, next_action=action)
    # VOIDED (or COMPLETED without a payment, which PayPal does not send).
    return ChargeResult(order_id, PaymentStatus.CANCELED)


def capture_result(order_id: str, capture: Json) -> ChargeResult:
    """One capture's outcome for the payment (an order holds one capture in our flows)."""
    return _captured(order_id, [capture])


def _captured(order_id: str, captures: list[Json]) -> ChargeResult:
    statuses = {text(capture, "status") for capture in captures}
    taken = sum(
        minor_units(capture.get("amount")) or 0
        for capture in captures
        if text(capture, "status") in ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED")
    )
    if taken:
        return ChargeResult(
            order_id, PaymentStatus.SUCCEEDED, amount_captured=taken, amount_capturable=0
        )
    if "PENDING" in statuses:
        return ChargeResult(order_id, PaymentStatus.PROCESSING)
    reason = _status_reason(captures[-1])
    return ChargeResult(
        order_id,
        PaymentStatus.FAILED,
        failure_code=reason.lower() if reason else "capture_declined",
        failure_message="PayPal declined the payment.",
    )


def authorization_result(order_id: str, authorization: Json) -> ChargeResult:
    status = text(authorization, "status")
    if status in ("CREATED", "PENDING"):
        return ChargeResult(
            order_id,
            PaymentStatus.AUTHORIZED if status == "CREATED" else PaymentStatus.PROCESSING,
            amount_capturable=minor_units(authorization.get("amount")),
            capture_before=_time(text(authorization, "expiration_time")),
        )
    if status in ("VOIDED", "EXPIRED"):
        return ChargeResult(order_id, PaymentStatus.CANCELED, amount_capturable=0)
    if status == "DENIED":
        return ChargeResult(
            order_id, PaymentStatus.FAILED, failure_code="authorization_denied", amount_capturable=0
        )
    # CAPTURED / PARTIALLY_CAPTURED: the captures say how much.
    return ChargeResult(order_id, PaymentStatus.SUCCEEDED, amount_capturable=0)


def _status_reason(obj: Json) -> str | None:
    details = obj.get("status_details")
    return text(details, "reason") if isinstance(details, dict) else None


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def related_order_id(resource: Json) -> str | None:
    """The order a capture or authorization belongs to, when PayPal says."""
    data = resource.get("supplementary_data")
    related = data.get("related_ids") if isinstance(data, dict) else None
    return text(related, "order_id") if isinstance(related, dict) else None
