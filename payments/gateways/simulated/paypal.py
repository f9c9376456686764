"""A deterministic in-process PayPal: orders the buyer approves on our own page, signed webhooks."""

import asyncio
import functools
import hashlib
import json
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import httpx
import structlog

from models.enums import CaptureMethod, NextActionType, PaymentStatus, RefundStatus
from payments.gateways.base import (
    CancelRequest,
    CaptureRequest,
    ChargeRequest,
    ChargeResult,
    ConfirmRequest,
    CustomerGateway,
    DisputeGateway,
    IntentRequest,
    Json,
    NextAction,
    RefundRequest,
    RefundResult,
)
from payments.gateways.simulated.certificates import Authority, Issued
from payments.gateways.simulated.disputes import SimulatedDisputes
from payments.gateways.simulated.webhook_client import WebhookClient
from payments.shared.errors import (
    InvalidAmount,
    NotFound,
    PaymentMethodTypeUnsupported,
    PaymentNotCancelable,
    PaymentNotCapturable,
    PaymentNotConfirmable,
    RefundExceedsAvailable,
)
from payments.shared.money import CURRENCY_EXPONENTS

log = structlog.get_logger(__name__)

PAGE_PATH = "/simulated/paypal/{order_id}"
# Where the development certificate "lives": never fetched, held by the verifier.
DEVELOPMENT_CERT_URL = "https://simulated-paypal.invalid/v1/notifications/certs/CERT-development"
DEVELOPMENT_WEBHOOK_ID = "WH-SIMULATED-PAYPAL"
# PayPal's issue for a card the buyer chose at PayPal and the bank then declined.
INSTRUMENT_DECLINED = (
    "instrument_declined",
    "The instrument presented was either declined by the processor or bank.",
)
# PayPal honours an authorization for three days, and it can be captured for 29.
AUTHORIZATION_TTL = timedelta(days=29)
_CANCELABLE = {PaymentStatus.REQUIRES_ACTION, PaymentStatus.AUTHORIZED}


class BuyerDecision(StrEnum):
    """What the buyer does on the approval page (and how PayPal then answers the capture)."""

    APPROVE = "approve"
    APPROVE_PENDING = "approve_pending"
    APPROVE_DECLINED = "approve_declined"
    CANCEL = "cancel"


@dataclass(frozen=True)
class DevelopmentIdentity:
    """The development CA and the certificate whose key signs the simulated webhooks."""

    authority: Authority
    issued: Issued


@functools.cache
def development_identity() -> DevelopmentIdentity:
    """One per process, made at first use: its keys never leave this process's memory."""
    authority = Authority.create("Simulated PayPal development CA")
    return DevelopmentIdentity(authority, authority.issue("messageverificationcerts.invalid"))


@dataclass
class SimulatedOrder:
    """One PayPal order as the simulated PayPal keeps it."""

    order_id: str
    payment_id: str
    amount: int
    currency: str
    capture_method: CaptureMethod
    return_url: str | None
    cancel_url: str | None
    state: ChargeResult
    decision: BuyerDecision | None = None
    captured: int = 0
    refunded: int = 0


@dataclass
class SimulatedPayPal:
    """PayPal's Orders and Payments APIs as the buyer and PayPal would answer them.

    The approval link is the service's own page; the buyer's choice there reaches the
    service as PayPal's would, through webhooks signed with a development certificate
    made in memory at start, which only this process's verifier trusts.
    """

    # The service's own base URL (its page and its `/webhooks/paypal`); None sends nothing.
    base_url: str | None = None
    webhook_id: str = DEVELOPMENT_WEBHOOK_ID
    webhook_delay_seconds: float = 2.0
    signer: Issued = field(default_factory=lambda: development_identity().issued)
    name: str = "paypal"
    orders: dict[str, SimulatedOrder] = field(default_factory=dict)
    # Answers by PayPal-Request-Id: a replay gets the order's current state, as PayPal does.
    requests: dict[str, str] = field(default_factory=dict)
    refunds: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    dispute_answers: SimulatedDisputes = field(default_factory=SimulatedDisputes)
    _pending: set["asyncio.Task[None]"] = field(default_factory=set)
    _webhooks: WebhookClient = field(default_factory=WebhookClient)

    @property
    def customers(self) -> CustomerGateway:
        raise PaymentMethodTypeUnsupported("Customers and saved methods live on the card rail.")

    @property
    def disputes(self) -> DisputeGateway:
        # Answered at once and deterministically, as the simulated card gateway answers.
        return self.dispute_answers

    def accepts(self, currency: str, capture_method: CaptureMethod) -> bool:
        """Any currency we know the minor units of, held or captured, as a sandbox would."""
        return currency in CURRENCY_EXPONENTS

    @property
    def authority(self) -> Authority:
        """The development CA the service's own verifier trusts, and only in this mode."""
        return development_identity().authority

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        raise PaymentMethodTypeUnsupported(
            "A PayPal payment needs the buyer's approval: use createPaymentIntent."
        )

    async def create_intent(self, request: IntentRequest) -> ChargeResult:
        """An order for the amount, waiting for the buyer at the approval page."""
        order_id = _paypal_id(request.idempotency_key)
        if order_id not in self.orders:
            approval = (self.base_url or "") + PAGE_PATH.format(order_id=order_id)
            self.orders[order_id] = SimulatedOrder(
                order_id=order_id,
                payment_id=request.payment_id,
                amount=request.amount,
                currency=request.currency.upper(),
                capture_method=request.capture_method,
                return_url=request.return_url,
                cancel_url=request.cancel_url,
                state=ChargeResult(
                    order_id,
                    PaymentStatus.REQUIRES_ACTION,
                    next_action=NextAction(NextActionType.REDIRECT_TO_URL, redirect_url=approval),
                ),
            )
        return self.orders[order_id].state

    def order(self, order_id: str) -> SimulatedOrder:
        """The order, or NotFound (another process's, or made before a restart)."""
        if order_id not in self.orders:
            raise NotFound("PayPal order")
        return self.orders[order_id]

    def decide(self, order_id: str, decision: BuyerDecision) -> SimulatedOrder:
        """The buyer's first choice on the approval page; a second click changes nothing.

        Approving sends PayPal's signed CHECKOUT.ORDER.APPROVED webhook at once; canceling
        sends none, as on PayPal: the buyer just goes back to the cancel URL.
        """
        order = self.order(order_id)
        if order.decision is None and order.state.status is PaymentStatus.REQUIRES_ACTION:
            order.decision = decision
            if decision is not BuyerDecision.CANCEL:
                self._send("CHECKOUT.ORDER.APPROVED", "checkout-order", _order(order))
        return order

    async def confirm(self, request: ConfirmRequest) -> ChargeResult:
        """Capture (or authorize) the approved order once; replays get its current state."""
        order = self.order(request.provider_payment_id)
        if request.idempotency_key in self.requests or order.state.next_action is None:
            return order.state
        if order.decision in (None, BuyerDecision.CANCEL):
            raise PaymentNotConfirmable("The buyer has not approved the PayPal order.")
        self.requests[request.idempotency_key] = order.order_id
        order.state = self._settled(order)
        if order.decision is BuyerDecision.APPROVE_PENDING:
            self._track(self._complete_pending(order))
        return order.state

    def _settled(self, order: SimulatedOrder) -> ChargeResult:
        manual = order.capture_method is CaptureMethod.MANUAL
        if order.decision is BuyerDecision.APPROVE_DECLINED:
            return ChargeResult(order.order_id, PaymentStatus.FAILED, *INSTRUMENT_DECLINED)
        if order.decision is BuyerDecision.APPROVE_PENDING:
            return ChargeResult(order.order_id, PaymentStatus.PROCESSING)
        if manual:
            return ChargeResult(
                order.order_id,
                PaymentStatus.AUTHORIZED,
                amount_capturable=order.amount,
                capture_before=datetime.now(UTC) + AUTHORIZATION_TTL,
            )
        order.captured = order.amount
        return ChargeResult(
            order.order_id,
            PaymentStatus.SUCCEEDED,
            amount_capturable=0,
            amount_captured=order.amount,
        )

    async def _complete_pending(self, order: SimulatedOrder) -> None:
        await asyncio.sleep(self.webhook_delay_seconds)
        order.decision = BuyerDecision.APPROVE
        order.state = self._settled(order)
        if order.capture_method is CaptureMethod.MANUAL:
            self._send("PAYMENT.AUTHORIZATION.CREATED", "authorization", _payment(order))
        else:
            self._send("PAYMENT.CAPTURE.COMPLETED", "capture", _payment(order))

    async def capture(self, request: CaptureRequest) -> ChargeResult:
        """Capture part or all of the authorization; the rest is released (final_capture)."""
        order = self.order(request.provider_payment_id)
        if request.idempotency_key in self.requests:
            return order.state
        if order.state.status is not PaymentStatus.AUTHORIZED:
            raise PaymentNotCapturable(f"PayPal cannot capture a {order.state.status.value} one.")
        if request.amount_to_capture > order.amount:
            raise InvalidAmount(f"At most {order.amount} can be captured.", field="amount")
        self.requests[request.idempotency_key] = order.order_id
        order.captured = request.amount_to_capture
        order.state = replace(
            order.state,
            status=PaymentStatus.SUCCEEDED,
            amount_capturable=0,
            amount_captured=order.captured,
        )
        return order.state

    async def cancel(self, request: CancelRequest) -> ChargeResult:
        """Void the authorization, or drop an order the buyer has not paid for."""
        order = self.order(request.provider_payment_id)
        if request.idempotency_key not in self.requests:
            if order.state.status not in _CANCELABLE:
                raise PaymentNotCancelable(f"A {order.state.status.value} order cannot be voided.")
            self.requests[request.idempotency_key] = order.order_id
            order.state = ChargeResult(
                order.order_id,
                PaymentStatus.CANCELED,
                amount_capturable=0,
                canceled_at=datetime.now(UTC),
                cancellation_reason=request.reason,
            )
        return order.state

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund the capture, partially or in full, never past what it captured."""
        refund_id = _paypal_id(request.idempotency_key)
        if refund_id not in self.refunds:
            order = self.order(request.provider_payment_id)
            available = order.captured - order.refunded
            if request.amount > available:
                raise RefundExceedsAvailable(request.amount, max(available, 0))
            order.refunded += request.amount
            self.refunds[refund_id] = (request.refund_id, order.order_id, request.amount)
        return RefundResult(provider_refund_id=refund_id, status=RefundStatus.SUCCEEDED)

    async def retrieve_payment(self, provider_payment_id: str) -> ChargeResult:
        return self.order(provider_payment_id).state

    async def find_payment(self, payment_id: str) -> ChargeResult | None:
        found = (order for order in self.orders.values() if order.payment_id == payment_id)
        order = next(found, None)
        return order.state if order else None

    async def find_refund(self, refund_id: str, provider_payment_id: str) -> RefundResult | None:
        for provider_refund_id, (ours, _, _) in self.refunds.items():
            if ours == refund_id:
                return RefundResult(provider_refund_id, RefundStatus.SUCCEEDED)
        return None

    async def list_events(self, created_after: int) -> list[Json]:
        """None to recover: this PayPal delivers its own webhooks and keeps no event log."""
        return []

    async def aclose(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await self._webhooks.aclose()

    def _send(self, event_type: str, resource_type: str, resource: Json) -> None:
        if self.base_url is None:
            return
        event = {
            "id": "WH-" + _paypal_id(f"{event_type}:{resource['id']}"),
            "event_version": "1.0",
            "create_time": _now(),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": f"Simulated {event_type}",
            "resource": resource,
        }
        self._track(self._deliver(event))

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background; closing the gateway cancels what is still pending."""
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver(self, event: Json) -> None:
        body = json.dumps(event).encode()
        headers = self.signer.sign_paypal_webhook(body, DEVELOPMENT_CERT_URL, self.webhook_id)
        try:
            response = await self._webhooks.post(
                f"{self.base_url}/webhooks/paypal",
                body,
                {**headers, "Content-Type": "application/json"},
            )
            log.info(
                "simulated_paypal_webhook_sent",
                type=event["event_type"],
                status=response.status_code,
            )
        except httpx.HTTPError as exc:
            log.warning("simulated_paypal_webhook_failed", type=event["event_type"], error=str(exc))


def _paypal_id(key: str) -> str:
    # PayPal's ids are 17 upper-case letters and digits; derived so a replay finds the same one.
    return hashlib.sha256(key.encode()).hexdigest()[:17].upper()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(amount: int, currency: str) -> dict[str, str]:
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    return {"currency_code": currency, "value": f"{Decimal(amount).scaleb(-exponent):.{exponent}f}"}


def _order(order: SimulatedOrder) -> Json:
    """The order as PayPal's CHECKOUT.ORDER.APPROVED carries it (Orders v2 `order`)."""
    intent = "AUTHORIZE" if order.capture_method is CaptureMethod.MANUAL else "CAPTURE"
    unit: dict[str, Any] = {
        "reference_id": "default",
        "custom_id": order.payment_id,
        "amount": _money(order.amount, order.currency),
    }
    return {
        "id": order.order_id,
        "intent": intent,
        "status": "APPROVED",
        "purchase_units": [unit],
        "payer": {"payer_id": "SIMULATEDBUYER", "email_address": "buyer@example.com"},
        "create_time": _now(),
        "links": [
            {"href": f"/v2/checkout/orders/{order.order_id}", "rel": "self", "method": "GET"}
        ],
    }


def _payment(order: SimulatedOrder) -> Json:
    """The capture or authorization as PayPal's PAYMENT.* events carry it (Payments v2)."""
    payment_id = _paypal_id(f"{order.order_id}:payment")
    return {
        "id": payment_id,
        "status": "COMPLETED" if order.capture_method is CaptureMethod.AUTOMATIC else "CREATED",
        "amount": _money(order.amount, order.currency),
        "final_capture": True,
        "custom_id": order.payment_id,
        "supplementary_data": {"related_ids": {"order_id": order.order_id}},
        "create_time": _now(),
        "update_time": _now(),
    }
