"""A deterministic in-process gateway with Stripe's test payment methods and delayed webhooks."""

import asyncio
import json
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import httpx
import structlog

from models.enums import CaptureMethod, PaymentMethodType, PaymentStatus, RefundStatus
from payments.gateways.base import (
    CancelRequest,
    CaptureRequest,
    ChargeRequest,
    ChargeResult,
    ConfirmRequest,
    FundingRequest,
    IntentRequest,
    Json,
    RefundRequest,
    RefundResult,
)
from payments.gateways.simulated.bank_transfers import funding_event, waiting_action
from payments.gateways.simulated.customers import SimulatedCustomers
from payments.gateways.simulated.disputes import SimulatedDisputes
from payments.gateways.simulated.outcomes import (
    AUTHENTICATION_FAILED,
    DECLINED,
    DELAYED,
    client_secret,
    outcome,
    stable_id,
    stripe_event,
)
from payments.gateways.simulated.webhook_client import WebhookClient
from payments.shared.errors import (
    InvalidAmount,
    NotFound,
    PaymentNotCancelable,
    PaymentNotCapturable,
    PaymentNotFundable,
    RefundExceedsAvailable,
)
from payments.shared.signatures import stripe_signature_header

log = structlog.get_logger(__name__)

_CANCELABLE = {
    PaymentStatus.REQUIRES_PAYMENT_METHOD,
    PaymentStatus.REQUIRES_ACTION,
    PaymentStatus.AUTHORIZED,
}


@dataclass(frozen=True)
class Authentication:
    """The customer's answer to the 3-D Secure challenge of one attempt to pay an intent."""

    provider_payment_id: str
    payment_id: str
    amount: int
    currency: str
    capture_method: CaptureMethod
    # Tells this attempt from a later one on the same intent (the payment's version).
    attempt: str
    completed: bool


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
    authorization_ttl: timedelta = timedelta(days=7)
    name: str = "simulated"
    # Its bank transfers are funded only by the test bank (fundBankTransfer).
    test_mode: bool = True
    # Each PaymentIntent as it is now, its amount and how it captures.
    charges: dict[str, ChargeResult] = field(default_factory=dict)
    amounts: dict[str, int] = field(default_factory=dict)
    capture_methods: dict[str, CaptureMethod] = field(default_factory=dict)
    currencies: dict[str, str] = field(default_factory=dict)
    # Answers to confirm / capture / cancel by idempotency key, replayed as Stripe does.
    replies: dict[str, ChargeResult] = field(default_factory=dict)
    # refund id -> (payment intent id, amount)
    refunds: dict[str, tuple[str, int]] = field(default_factory=dict)
    # Our payment / refund ids -> the provider's, as Stripe's metadata search would find them.
    by_payment_id: dict[str, str] = field(default_factory=dict)
    by_refund_id: dict[str, str] = field(default_factory=dict)
    customers: SimulatedCustomers = field(default_factory=SimulatedCustomers)
    disputes: SimulatedDisputes = field(default_factory=SimulatedDisputes)
    # "<intent>:<attempt>" -> whether the customer completed that 3-D Secure challenge.
    authentications: dict[str, bool] = field(default_factory=dict)
    # Where the authentication page sends the browser back to, by intent (confirm's returnUrl).
    return_urls: dict[str, str] = field(default_factory=dict)
    _pending: set["asyncio.Task[None]"] = field(default_factory=set)
    _webhooks: WebhookClient = field(default_factory=WebhookClient)

    @property
    def charge_count(self) -> int:
        """How many distinct charges were made (replays of one key are not new charges)."""
        return len(self.charges)

    def accepts(self, currency: str, capture_method: CaptureMethod) -> bool:
        """Every currency of ours, either way of capturing."""
        return True

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge deterministically by payment method; a repeated key returns the first result."""
        provider_id = stable_id("pi", request.idempotency_key)
        if provider_id not in self.charges:
            self._open(provider_id, request)
            self._pay(provider_id, self.customers.charged_as(request), request.payment_id)
        return self.charges[provider_id]

    async def create_intent(self, request: IntentRequest) -> ChargeResult:
        """An unconfirmed intent waiting for a payment method, with its client secret."""
        provider_id = stable_id("pi", request.idempotency_key)
        if provider_id not in self.charges:
            self._open(provider_id, request)
            self.charges[provider_id] = ChargeResult(
                provider_id,
                PaymentStatus.REQUIRES_PAYMENT_METHOD,
                client_secret=client_secret(provider_id),
            )
            if request.payment_method_type is PaymentMethodType.BANK_TRANSFER:
                # Confirmed at once, as on Stripe: it waits for the customer's money.
                self.charges[provider_id] = replace(
                    self.charges[provider_id],
                    status=PaymentStatus.REQUIRES_ACTION,
                    next_action=waiting_action(
                        request.payment_id, request.currency, request.amount
                    ),
                    amount_received=0,
                )
        return self.charges[provider_id]

    async def fund_bank_transfer(self, request: FundingRequest) -> None:
        """The customer's bank sends `amount`; the intent's events follow by signed webhook.

        Like Stripe's, the intent succeeds once nothing remains; until then each funding
        is a `payment_intent.partially_funded` event with what is still to come.
        """
        current = self.charges.get(request.provider_payment_id) or self._reopened(request)
        action = current.next_action if current else None
        if (
            current is None
            or current.status is not PaymentStatus.REQUIRES_ACTION
            or not (action and action.bank_transfer)
        ):
            raise PaymentNotFundable("This payment waits for no bank transfer.")
        remaining = action.bank_transfer.amount_remaining - request.amount
        if request.amount <= 0 or remaining < 0:
            raise InvalidAmount(
                f"At most {action.bank_transfer.amount_remaining} remains.", field="amount"
            )
        total = self.amounts[request.provider_payment_id]
        if remaining:
            waiting = waiting_action(request.payment_id, request.currency, remaining)
            funded = replace(current, next_action=waiting, amount_received=total - remaining)
        else:
            funded = replace(
                current,
                status=PaymentStatus.SUCCEEDED,
                next_action=None,
                amount_received=total,
                amount_captured=total,
            )
        self.charges[request.provider_payment_id] = funded
        event = funding_event(
            request.provider_payment_id, request.payment_id, total, request.currency, remaining
        )
        self._schedule_webhook(event, 0)

    def _reopened(self, request: FundingRequest) -> ChargeResult | None:
        """A transfer another process (or this one before a restart) opened, from our books."""
        if not request.payment_amount:
            return None
        remaining = request.payment_amount - request.amount_received
        self.amounts[request.provider_payment_id] = request.payment_amount
        return ChargeResult(
            request.provider_payment_id,
            PaymentStatus.REQUIRES_ACTION,
            next_action=waiting_action(request.payment_id, request.currency, remaining),
            amount_received=request.amount_received,
        )

    async def confirm(self, request: ConfirmRequest) -> ChargeResult:
        """Play Stripe.js: pay the intent with the method, deterministically, once per key."""
        if request.idempotency_key not in self.replies:
            provider_id = request.provider_payment_id
            if provider_id not in self.amounts:
                self._open(provider_id, request)
            if request.return_url is not None:
                self.return_urls[provider_id] = request.return_url
            self._pay(provider_id, request.payment_method_id or "", request.payment_id)
            paid = self.replies[request.idempotency_key] = self.charges[provider_id]
            if paid.status is PaymentStatus.FAILED:
                # As on Stripe, a declined intent waits for another method.
                self.charges[provider_id] = replace(
                    paid, status=PaymentStatus.REQUIRES_PAYMENT_METHOD
                )
        return self.replies[request.idempotency_key]

    async def capture(self, request: CaptureRequest) -> ChargeResult:
        """Capture within the authorization before it lapses; the rest is released."""
        if request.idempotency_key not in self.replies:
            self._check_capturable(request)
            captured = replace(
                self._current(request.provider_payment_id),
                status=PaymentStatus.SUCCEEDED,
                amount_capturable=0,
                amount_captured=request.amount_to_capture,
            )
            self.charges[request.provider_payment_id] = captured
            self.amounts[request.provider_payment_id] = request.amount_to_capture
            self.replies[request.idempotency_key] = captured
        return self.replies[request.idempotency_key]

    async def cancel(self, request: CancelRequest) -> ChargeResult:
        """Cancel an open intent or void an authorization, as Stripe's cancel does."""
        if request.idempotency_key not in self.replies:
            current = self._current(request.provider_payment_id)
            if current.status not in _CANCELABLE:
                raise PaymentNotCancelable(f"A {current.status.value} payment cannot be canceled.")
            canceled = replace(
                current,
                status=PaymentStatus.CANCELED,
                next_action=None,
                amount_capturable=0,
                canceled_at=datetime.now(UTC),
                cancellation_reason=request.reason,
            )
            self.charges[request.provider_payment_id] = canceled
            self.replies[request.idempotency_key] = canceled
        return self.replies[request.idempotency_key]

    def authenticate(self, answer: Authentication) -> bool:
        """Complete or fail a 3-D Secure challenge as Stripe's test page does; once per attempt.

        The intent moves now, and its outcome reaches the service at once as a signed webhook,
        as `pm_sim_processing`'s does: succeeded (held for a manual capture), or failed with
        `payment_intent_authentication_failure`. Returns the attempt's first answer, so a
        second click changes nothing.
        """
        provider_id = answer.provider_payment_id
        attempt = f"{provider_id}:{answer.attempt}"
        if attempt not in self.authentications:
            self.authentications[attempt] = answer.completed
            self._open(provider_id, answer)
            if answer.completed:
                self._pay(provider_id, "pm_card_visa", answer.payment_id)
                succeeded = "payment_intent.succeeded"
                self._announce(provider_id, answer.payment_id, succeeded, 0, attempt=answer.attempt)
            else:
                code, message = AUTHENTICATION_FAILED
                self.charges[provider_id] = ChargeResult(
                    provider_id,
                    PaymentStatus.REQUIRES_PAYMENT_METHOD,
                    code,
                    message,
                    client_secret=client_secret(provider_id),
                )
                self._announce(
                    provider_id,
                    answer.payment_id,
                    "payment_intent.payment_failed",
                    0,
                    error=AUTHENTICATION_FAILED,
                    attempt=answer.attempt,
                )
        return self.authentications[attempt]

    def _open(
        self,
        provider_id: str,
        request: ChargeRequest | IntentRequest | ConfirmRequest | Authentication,
    ) -> None:
        self.amounts[provider_id] = request.amount
        self.capture_methods[provider_id] = request.capture_method
        self.currencies[provider_id] = request.currency
        self.by_payment_id[request.payment_id] = provider_id

    def _pay(self, provider_id: str, method: str, payment_id: str) -> None:
        amount = self.amounts[provider_id]
        capture_method = self.capture_methods.get(provider_id, CaptureMethod.AUTOMATIC)
        lapses = datetime.now(UTC) + self.authorization_ttl
        self.charges[provider_id] = outcome(provider_id, method, amount, capture_method, lapses)
        event_type = DELAYED.get(method)
        if event_type is not None:
            self._announce(provider_id, payment_id, event_type, self.webhook_delay_seconds)

    def _announce(
        self,
        provider_id: str,
        payment_id: str,
        event_type: str,
        delay_seconds: float,
        *,
        error: tuple[str, str] = DECLINED,
        attempt: str = "",
    ) -> None:
        """Send the intent's outcome to the service's webhook route after `delay_seconds`."""
        capture_method = self.capture_methods.get(provider_id, CaptureMethod.AUTOMATIC)
        if event_type == "payment_intent.succeeded" and capture_method is CaptureMethod.MANUAL:
            event_type = "payment_intent.amount_capturable_updated"
        amount, currency = self.amounts[provider_id], self.currencies.get(provider_id, "usd")
        event = stripe_event(
            event_type, provider_id, payment_id, amount, currency, error=error, attempt=attempt
        )
        self._schedule_webhook(event, delay_seconds)

    def _current(self, provider_id: str) -> ChargeResult:
        # An intent another process made (or made before a restart): Stripe would know it.
        unknown = ChargeResult(provider_id, PaymentStatus.AUTHORIZED)
        return self.charges.get(provider_id, unknown)

    def _check_capturable(self, request: CaptureRequest) -> None:
        current = self._current(request.provider_payment_id)
        lapsed = current.capture_before is not None and current.capture_before <= datetime.now(UTC)
        if current.status is not PaymentStatus.AUTHORIZED or lapsed:
            state = "an expired authorization" if lapsed else f"a {current.status.value} payment"
            raise PaymentNotCapturable(f"The gateway cannot capture {state}.")
        held = current.amount_capturable
        if held is not None and request.amount_to_capture > held:
            raise InvalidAmount(f"At most {held} can be captured.", field="amount")

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund within what was charged, like Stripe; an over-refund is rejected."""
        refund_id = stable_id("re", request.idempotency_key)
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

    async def list_events(self, created_after: int) -> list[Json]:
        """None to recover: this gateway delivers its own webhooks and keeps no event log."""
        return []

    async def aclose(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await self._webhooks.aclose()

    def _schedule_webhook(self, event: dict[str, object], delay_seconds: float) -> None:
        if self.webhook_url is None:
            return
        task = asyncio.get_running_loop().create_task(self._deliver_later(event, delay_seconds))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _deliver_later(self, event: dict[str, object], delay_seconds: float) -> None:
        await asyncio.sleep(delay_seconds)
        body = json.dumps(event).encode()
        header = stripe_signature_header(self.webhook_secret, body, int(time.time()))
        assert self.webhook_url is not None
        try:
            response = await self._webhooks.post(
                self.webhook_url,
                body,
                {"Stripe-Signature": header, "Content-Type": "application/json"},
            )
            log.info("simulated_webhook_sent", type=event["type"], status=response.status_code)
        except httpx.HTTPError as exc:
            log.warning("simulated_webhook_failed", type=event["type"], error=str(exc))
