"""The gateway interface every payment provider adapter implements."""

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from models.enums import (
    CLOSED_DISPUTE_STATUSES,
    CancellationReason,
    CaptureMethod,
    DisputeStatus,
    NextActionType,
    PaymentMethodType,
    PaymentStatus,
    RefundReason,
    RefundStatus,
)

Json = dict[str, Any]


@dataclass(frozen=True)
class ChargeRequest:
    payment_id: str
    amount: int
    currency: str
    payment_method_id: str
    customer_id: str
    description: str | None
    # Derived from payment_id, so a retry after a crash re-uses it and cannot charge twice.
    idempotency_key: str
    capture_method: CaptureMethod = CaptureMethod.AUTOMATIC
    # Set when payment_method_id is a method saved for this gateway customer: off-session.
    provider_customer_id: str | None = None


@dataclass(frozen=True)
class IntentRequest:
    """A payment the customer completes: in the browser (Stripe.js), at PayPal, or at their bank."""

    payment_id: str
    amount: int
    currency: str
    customer_id: str
    description: str | None
    capture_method: CaptureMethod
    idempotency_key: str
    payment_method_type: PaymentMethodType = PaymentMethodType.CARD
    # Where the provider sends the buyer back after approving or canceling (PayPal).
    return_url: str | None = None
    cancel_url: str | None = None
    # The provider's customer whose balance a bank transfer funds.
    provider_customer_id: str | None = None


@dataclass(frozen=True)
class ConfirmRequest:
    payment_id: str
    provider_payment_id: str
    # None where the rail needs none (PayPal: the buyer chose at PayPal).
    payment_method_id: str | None
    return_url: str | None
    amount: int
    currency: str
    capture_method: CaptureMethod
    # Derived from the payment id and the attempt number: each attempt is charged once.
    idempotency_key: str


@dataclass(frozen=True)
class CaptureRequest:
    payment_id: str
    provider_payment_id: str
    amount_to_capture: int
    idempotency_key: str


@dataclass(frozen=True)
class CancelRequest:
    payment_id: str
    provider_payment_id: str
    reason: CancellationReason | None
    idempotency_key: str


@dataclass(frozen=True)
class BankAddress:
    """One financial address a bank transfer can be sent to (IBAN, sort code, ABA, ...)."""

    type: str
    iban: str | None = None
    bic: str | None = None
    account_number: str | None = None
    routing_number: str | None = None
    sort_code: str | None = None
    account_holder_name: str | None = None
    bank_name: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class BankTransferInstructions:
    """What the customer needs to pay by bank transfer, and how much is still to come."""

    reference: str
    currency: str
    amount_remaining: int
    hosted_instructions_url: str | None
    addresses: tuple[BankAddress, ...]


@dataclass(frozen=True)
class NextAction:
    """What the customer has to do before the payment can go on."""

    type: NextActionType
    redirect_url: str | None = None
    bank_transfer: BankTransferInstructions | None = None

    def stored(self) -> Json:
        """The JSON a payment keeps of it, equal to what a later read of that column gives."""
        stored: Json = json.loads(json.dumps(asdict(self)))
        return stored


@dataclass(frozen=True)
class FundingRequest:
    """Money a test bank sends to a bank transfer's instructions (test mode only)."""

    payment_id: str
    provider_payment_id: str
    # The provider's customer whose balance the transfer funds.
    provider_customer_id: str | None
    amount: int
    currency: str
    # The instructions' reference, which matches the money to the payment.
    reference: str
    # Our books: the payment's amount and what it received so far, for a provider that
    # does not know the transfer (the simulated gateway of another process, or restarted).
    payment_amount: int = 0
    amount_received: int = 0


@dataclass(frozen=True)
class ChargeResult:
    provider_payment_id: str
    status: PaymentStatus
    failure_code: str | None = None
    failure_message: str | None = None
    client_secret: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    # Reported where they apply (an authorization, a capture, a cancellation); None: not said.
    amount_capturable: int | None = None
    amount_captured: int | None = None
    capture_before: datetime | None = None
    canceled_at: datetime | None = None
    cancellation_reason: CancellationReason | None = None
    next_action: NextAction | None = None
    # Money a bank transfer has brought in so far (None: not said).
    amount_received: int | None = None


@dataclass(frozen=True)
class RefundRequest:
    refund_id: str
    payment_id: str
    provider_payment_id: str
    amount: int
    reason: RefundReason | None
    idempotency_key: str


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str
    status: RefundStatus
    failure_reason: str | None = None


@dataclass(frozen=True)
class PaymentMoved:
    """The provider reports the payment in `status`, with the payment columns it carries."""

    status: PaymentStatus
    # Only what the event said (failure, client secret, amounts, cancellation): each move's
    # own rule decides a column it left out.
    fields: dict[str, Any]


@dataclass(frozen=True)
class ReportedRefund:
    """One refund of the payment as the provider reports it."""

    # None where the provider's object lacked a usable one (the domain refuses it then).
    provider_refund_id: str | None
    # Ours, when the provider kept the refund id our adapter gave it; None for its own.
    refund_id: str | None
    amount: int | None
    status: RefundStatus
    failure_reason: str | None
    reason: RefundReason | None


@dataclass(frozen=True)
class RefundsReported:
    """The provider reports refunds of the payment, and their total when it says one."""

    refunds: tuple[ReportedRefund, ...]
    amount_refunded: int | None = None


@dataclass(frozen=True)
class DisputeReported:
    """A dispute of the payment as the provider reports it at `reported_at`.

    Reports arrive duplicated and in any order: the domain keeps the newest (by
    `reported_at`, then by how far the status has come) and never moves back.
    """

    provider_dispute_id: str
    amount: int
    # Upper-case ISO 4217, as payments keep it.
    currency: str
    # The provider's reason code (Stripe: `fraudulent`, `general`, ...).
    reason: str
    status: DisputeStatus
    evidence_due_by: datetime | None
    reported_at: datetime
    # Money taken from the merchant for the dispute, and given back (a dispute won).
    funds_withdrawn: bool = False
    funds_reinstated: bool = False

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_DISPUTE_STATUSES


@dataclass(frozen=True)
class PaymentApproved:
    """The buyer approved the payment at the provider: it can be captured (or held) now."""


ReportedChange = PaymentMoved | RefundsReported | DisputeReported | PaymentApproved


@dataclass(frozen=True)
class EventEnvelope:
    """What the inbox keeps of a verified provider event besides its body."""

    event_id: str
    # The provider's name for the event.
    type: str
    # When the provider says the event happened; None where it does not say.
    created_at: datetime | None


@dataclass(frozen=True)
class GatewayUpdate:
    """One stored provider event, read: which payment, what happened to it, and when."""

    event_id: str
    # The provider's name for the event, for logs and operators only.
    type: str
    occurred_at: datetime
    provider_payment_id: str | None
    # Ours, from the metadata our adapter gave the provider's object.
    payment_id: str | None
    # None for an event that changes nothing we keep.
    change: ReportedChange | None


@dataclass(frozen=True)
class SavedMethod:
    """A payment method attached to a gateway customer: all of it that is ever kept."""

    provider_payment_method_id: str
    type: str
    card_brand: str | None = None
    card_last4: str | None = None
    card_exp_month: int | None = None
    card_exp_year: int | None = None


class CustomerGateway(Protocol):
    """Customers and their saved payment methods at the provider.

    Unknown or foreign payment methods raise `PaymentMethodNotFound`; an unreachable
    provider raises `GatewayUnavailable` (every write is safe to retry with its key).
    """

    async def create_customer(self, customer_id: str, idempotency_key: str) -> str:
        """The provider's customer for our `customer_id` (kept in its metadata)."""
        ...

    async def attach_payment_method(
        self, provider_customer_id: str, payment_method_id: str, idempotency_key: str
    ) -> SavedMethod: ...

    async def detach_payment_method(self, provider_payment_method_id: str) -> None:
        """Detach for good; a method already detached counts as done."""
        ...

    async def set_default_payment_method(
        self, provider_customer_id: str, provider_payment_method_id: str | None
    ) -> None: ...

    async def create_setup_intent(self, provider_customer_id: str, idempotency_key: str) -> str:
        """A SetupIntent for saving a method off-session; returns its client secret."""
        ...


class DisputeGateway(Protocol):
    """Answering disputes at the provider; each call returns the dispute as it is then.

    Calls are safe to retry with their key; an unreachable provider raises
    `GatewayUnavailable`, a dispute the provider will no longer change raises
    `DisputeNotOpen`.
    """

    def evidence_fields(self, evidence: object) -> Json:
        """`evidence` as the provider's evidence fields; ValidationFailed unless it is one."""
        ...

    async def submit_evidence(
        self, dispute: DisputeReported, evidence: Json, submit: bool, idempotency_key: str
    ) -> DisputeReported:
        """Stage the evidence, or with `submit` send it to the card network for good.

        `dispute` is the dispute as we keep it; the answer is the provider's, as of now.
        """
        ...

    async def accept(self, dispute: DisputeReported, idempotency_key: str) -> DisputeReported:
        """Concede the dispute: it closes as lost (an inquiry as closed)."""
        ...


class Gateway(Protocol):
    """A payment provider. Declines are results; only unknown outcomes raise.

    Implementations raise `payments.shared.errors.GatewayUnavailable` when the provider
    cannot be reached or answers with a server error, i.e. when the outcome is unknown.
    """

    name: str

    @property
    def customers(self) -> CustomerGateway: ...

    @property
    def disputes(self) -> DisputeGateway: ...

    def accepts(self, currency: str, capture_method: CaptureMethod) -> bool:
        """Whether this rail takes `currency` with `capture_method` (checked before any write)."""
        ...

    async def charge(self, request: ChargeRequest) -> ChargeResult: ...

    async def create_intent(self, request: IntentRequest) -> ChargeResult:
        """An unconfirmed PaymentIntent (REQUIRES_PAYMENT_METHOD) with its client secret."""
        ...

    async def confirm(self, request: ConfirmRequest) -> ChargeResult: ...

    async def capture(self, request: CaptureRequest) -> ChargeResult:
        """Capture part or all of an authorization; raises PaymentNotCapturable if it cannot."""
        ...

    async def cancel(self, request: CancelRequest) -> ChargeResult:
        """Cancel (void) a payment; raises PaymentNotCancelable if the gateway refuses."""
        ...

    async def refund(self, request: RefundRequest) -> RefundResult: ...

    async def retrieve_payment(self, provider_payment_id: str) -> ChargeResult: ...

    async def find_payment(self, payment_id: str) -> ChargeResult | None:
        """The provider's payment made for our `payment_id` (from its metadata), if any."""
        ...

    async def find_refund(self, refund_id: str, provider_payment_id: str) -> RefundResult | None:
        """The provider's refund made for our `refund_id` (from its metadata), if any."""
        ...

    async def list_events(self, created_after: int) -> list[Json]:
        """The events it reads updates from, created after `created_after` (Unix seconds).

        Oldest first; each is the JSON its webhook would have carried, whether or not that
        arrived, stored as a webhook's is and read by the provider's event reader.
        """
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class BankTransferGateway(Gateway, Protocol):
    """A provider of bank transfers, with a test bank that plays the customer's in test mode."""

    # True where money may be made up (the simulated gateway, a `sk_test_` Stripe key).
    test_mode: bool

    async def fund_bank_transfer(self, request: FundingRequest) -> None:
        """Send `amount` to the transfer's instructions; its events follow as for real money.

        Raises InvalidAmount past what remains, PaymentNotFundable when the transfer takes
        no money, GatewayUnavailable when the outcome is unknown.
        """
        ...
