"""A deterministic in-process gateway with Stripe's test payment methods and delayed webhooks."""

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field

import httpx
import structlog

from models.enums import PaymentStatus, RefundStatus
from payments.gateways.base import ChargeRequest, ChargeResult, RefundRequest, RefundResult
from payments.gateways.simulated_customers import SimulatedCustomers
from payments.shared.errors import NotFound, RefundExceedsAvailable
from payments.shared.settings import Settings
from payments.shared.signatures import stripe_signature_header

log = structlog.get_logger(__name__)

_SUCCEEDING = {"pm_card_visa": ("visa", "4242"), "pm_card_mastercard": ("mastercard", "4444")}
_DECLINES = {
    "pm_card_chargeDeclined": ("card_declined", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
}
_DELAYED = {
    "pm_sim_processing": "payment_intent.succeeded",
    "pm_sim_processing_fails": "payment_intent.payment_failed",
}


def _stable_id(prefix: str, key: str) -> str:
    # Derived from the idempotency key so a retried request finds the same object, as on Stripe.
    return f"{prefix}_sim{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def own_webhook_url(host: str, port: int) -> str:
    """The serving process's own Stripe webhook route, where delayed outcomes are sent."""
    # A wildcard bind address is not somewhere to connect to; loopback reaches it.
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{reachable}:{port}/webhooks/stripe"


@dataclass
class SimulatedGateway:
    """Outcomes follow DESIGN.md's table; `pm_sim_processing*` finish later by signed webhook."""

    webhook_secret: str
    webhook_url: str | None = None
    webhook_delay_seconds: float = 2.0
    name: str = "simulated"
    charges: dict[str, ChargeResult] = field(default_factory=dict)
    amounts: dict[str, int] = field(default_factory=dict)
    # refund id -> (payment intent id, amount)
    refunds: dict[str, tuple[str, int]] = field(default_factory=dict)
    # Our payment / refund ids -> the provider's, as Stripe's metadata search would find them.
    by_payment_id: dict[str, str] = field(default_factory=dict)
    by_refund_id: dict[str, str] = field(default_factory=dict)
    customers: SimulatedCustomers = field(default_factory=SimulatedCustomers)
    _pending: set["asyncio.Task[None]"] = field(default_factory=set)

    @classmethod
    def from_settings(cls, settings: Settings) -> "SimulatedGateway":
        return cls(
            webhook_secret=settings.webhook_secrets[0],
            webhook_url=settings.simulated_webhook_url,
            webhook_delay_seconds=settings.simulated_webhook_delay_ms / 1000,
        )

    @property
    def charge_count(self) -> int:
        """How many distinct charges were made (replays of one key are not new charges)."""
        return len(self.charges)

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge deterministically by payment method; a repeated key returns the first result."""
        provider_id = _stable_id("pi", request.idempotency_key)
        if provider_id not in self.charges:
            method = self.customers.charged_as(request)
            self.charges[provider_id] = _outcome(provider_id, method)
            self.amounts[provider_id] = request.amount
            self.by_payment_id[request.payment_id] = provider_id
            self._schedule_outcome_webhook(provider_id, request)
        return self.charges[provider_id]

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund within what was charged, like Stripe; an over-refund is rejected."""
        refund_id = _stable_id("re", request.idempotency_key)
        if refund_id not in self.refunds:
            available = self._refundable(request.provider_payment_id)
            if available is not None and request.amount > available:
                raise RefundExceedsAvailable(request.amount, max(available, 0))
            self.refunds[refund_id] = (request.provider_payment_id, request.amount)
            self.by_refund_id[request.refund_id] = refund_id
        return RefundResult(provider_refund_id=refund_id, status=RefundStatus.SUCCEEDED)

    def _refundable(self, provider_payment_id: str) -> int | None:
        """What is left to refund; None for a charge this process did not make.

        Charges made by another `serve` worker or before a restart are unknown here: the
        service's own row lock and CHECK constraint are what keep their refunds in bounds.
        """
        if provider_payment_id not in self.amounts:
            return None
        refunded = sum(amount for pi, amount in self.refunds.values() if pi == provider_payment_id)
        return self.amounts[provider_payment_id] - refunded

    async def retrieve_payment(self, provider_payment_id: str) -> ChargeResult:
        if provider_payment_id not in self.charges:
            raise NotFound("Payment intent")
        return self.charges[provider_payment_id]

    async def find_payment(self, payment_id: str) -> ChargeResult | None:
        provider_id = self.by_payment_id.get(payment_id)
        return self.charges[provider_id] if provider_id else None

    async def find_refund(self, refund_id: str, provider_payment_id: str) -> RefundResult | None:
        provider_id = self.by_refund_id.get(refund_id)
        return RefundResult(provider_id, RefundStatus.SUCCEEDED) if provider_id else None

    async def aclose(self) -> None:
        for task in list(self._pending):
            task.cancel()

    def _schedule_outcome_webhook(self, provider_id: str, request: ChargeRequest) -> None:
        event_type = _DELAYED.get(request.payment_method_id)
        if event_type is None or self.webhook_url is None:
            return
        event = _stripe_event(event_type, provider_id, request)
        task = asyncio.get_running_loop().create_task(self._deliver_later(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver_later(self, event: dict[str, object]) -> None:
        await asyncio.sleep(self.webhook_delay_seconds)
        body = json.dumps(event).encode()
        header = stripe_signature_header(self.webhook_secret, body, int(time.time()))
        assert self.webhook_url is not None
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(
                    self.webhook_url,
                    content=body,
                    headers={"Stripe-Signature": header, "Content-Type": "application/json"},
                )
            log.info("simulated_webhook_sent", type=event["type"], status=response.status_code)
        except httpx.HTTPError as exc:
            log.warning("simulated_webhook_failed", type=event["type"], error=str(exc))


def _outcome(provider_id: str, payment_method_id: str) -> ChargeResult:
    if payment_method_id in _DECLINES:
        code, message = _DECLINES[payment_method_id]
        return ChargeResult(provider_id, PaymentStatus.FAILED, code, message)
    if payment_method_id == "pm_card_authenticationRequired":
        secret = f"{provider_id}_secret_{provider_id[-8:]}"
        return ChargeResult(provider_id, PaymentStatus.REQUIRES_ACTION, client_secret=secret)
    if payment_method_id in _DELAYED:
        return ChargeResult(provider_id, PaymentStatus.PROCESSING)
    if payment_method_id.startswith("pm_card_"):
        brand, last4 = _SUCCEEDING.get(payment_method_id, ("visa", "4242"))
        return ChargeResult(
            provider_id, PaymentStatus.SUCCEEDED, card_brand=brand, card_last4=last4
        )
    return ChargeResult(
        provider_id,
        PaymentStatus.FAILED,
        "payment_method_not_found",
        f"No such payment method: '{payment_method_id}'.",
    )


def _stripe_event(event_type: str, provider_id: str, request: ChargeRequest) -> dict[str, object]:
    succeeded = event_type == "payment_intent.succeeded"
    intent: dict[str, object] = {
        "id": provider_id,
        "object": "payment_intent",
        "amount": request.amount,
        "currency": request.currency.lower(),
        "status": "succeeded" if succeeded else "requires_payment_method",
        "metadata": {"payment_id": request.payment_id},
    }
    if not succeeded:
        intent["last_payment_error"] = {"code": "card_declined", "message": "The bank declined."}
    return {
        "id": _stable_id("evt", f"{provider_id}:{event_type}"),
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": intent},
    }
