"""The Payment type, its history events and its Relay connection."""

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from graph.connections import Node, PageInfo
from graph.context import Info
from graph.enums import CancellationReason, CaptureMethod, EventSource, PaymentStatus
from graph.refunds.types import Refund
from models import payment as stored
from payments.outbox.versions import PaymentVersion
from payments.reads import service as reads


@strawberry.type
class PaymentEvent:
    status: PaymentStatus
    source: EventSource
    occurred_at: datetime


@strawberry.type
class Payment(Node):
    order_id: str
    customer_id: str
    amount: int
    currency: str
    status: PaymentStatus
    amount_refunded: int
    amount_refundable: int
    capture_method: CaptureMethod
    amount_capturable: int
    amount_captured: int
    capture_before: datetime | None
    canceled_at: datetime | None
    cancellation_reason: CancellationReason | None
    failure_code: str | None
    failure_message: str | None
    provider_payment_id: str | None
    description: str | None
    metadata: JSON | None
    card_brand: str | None
    card_last4: str | None
    disputed: bool
    version: int
    created_at: datetime
    updated_at: datetime
    _client_secret: strawberry.Private[str | None]
    # A live push: the payment as of its version, whose state leaves the secret out.
    _as_of: strawberry.Private[PaymentVersion | None] = None

    @strawberry.field(description="Only returned to the customer who owns the payment.")
    async def client_secret(self, info: Info) -> str | None:
        principal = info.context.known_principal
        if not (principal and principal.sub == self.customer_id):
            return None
        if self._as_of is None:
            return self._client_secret
        # The same at every version, so read from the row (only when asked for).
        return await info.context.loaders.client_secrets.load(str(self.id))

    @strawberry.field
    async def refunds(self, info: Info) -> list[Refund]:
        if self._as_of is not None and self._as_of.refunds is not None:
            rows = self._as_of.refunds
        else:
            rows = await info.context.loaders.refunds.load(str(self.id))
        return [Refund.from_model(row) for row in rows]

    @strawberry.field
    async def events(self, info: Info) -> list[PaymentEvent]:
        rows = await info.context.loaders.history.load(str(self.id))
        # Only what had happened by this version (a live push of an earlier one).
        return [
            PaymentEvent(status=r.status, source=r.source, occurred_at=r.occurred_at)
            for r in rows
            if r.version <= self.version
        ]

    @classmethod
    def from_version(cls, as_of: PaymentVersion) -> "Payment":
        """A live push: the payment, its refunds and events as of one version."""
        pushed = cls.from_model(as_of.payment)
        pushed._as_of = as_of
        return pushed

    @classmethod
    def from_model(cls, payment: stored.Payment) -> "Payment":
        return cls(
            id=strawberry.ID(payment.id),
            order_id=payment.order_id,
            customer_id=payment.customer_id,
            amount=payment.amount,
            currency=payment.currency,
            status=payment.status,
            amount_refunded=payment.amount_refunded,
            amount_refundable=payment.amount_refundable,
            capture_method=payment.capture_method,
            amount_capturable=payment.amount_capturable,
            amount_captured=payment.amount_captured,
            capture_before=payment.capture_before,
            canceled_at=payment.canceled_at,
            cancellation_reason=payment.cancellation_reason,
            failure_code=payment.failure_code,
            failure_message=payment.failure_message,
            provider_payment_id=payment.provider_payment_id,
            description=payment.description,
            metadata=payment.metadata,
            card_brand=payment.card_brand,
            card_last4=payment.card_last4,
            disputed=payment.disputed_at is not None,
            version=payment.version,
            created_at=payment.created_at,
            updated_at=payment.updated_at,
            _client_secret=payment.client_secret,
        )


@strawberry.type
class PaymentEdge:
    cursor: str
    node: Payment


@strawberry.type
class PaymentConnection:
    edges: list[PaymentEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Payment]:
        return [edge.node for edge in self.edges]

    @classmethod
    def from_page(cls, page: reads.PaymentPage) -> "PaymentConnection":
        edges = [
            PaymentEdge(cursor=reads.encode_cursor(p.id), node=Payment.from_model(p))
            for p in page.payments
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )
