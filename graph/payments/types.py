"""The Payment type, its history events and its Relay connection."""

from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types.nodes import Selection

from graph.connections import Node, PageInfo
from graph.context import Info
from graph.disputes.types import Dispute
from graph.enums import (
    CancellationReason,
    CaptureMethod,
    EventSource,
    NextActionType,
    PaymentMethodType,
    PaymentStatus,
)
from graph.execution import PRELOADED
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
class BankAddress:
    type: str
    iban: str | None = None
    bic: str | None = None
    account_number: str | None = None
    routing_number: str | None = None
    sort_code: str | None = None
    account_holder_name: str | None = None
    bank_name: str | None = None
    country: str | None = None


@strawberry.type
class BankTransferInstructions:
    reference: str
    currency: str
    amount_remaining: int
    hosted_instructions_url: str | None
    addresses: list[BankAddress]


@strawberry.type
class NextAction:
    type: NextActionType
    redirect_url: str | None = None
    bank_transfer: BankTransferInstructions | None = None

    @classmethod
    def from_stored(cls, stored_action: dict[str, Any]) -> "NextAction":
        """The payment's stored next action (a gateway's `NextAction`, as JSON)."""
        transfer = stored_action.get("bank_transfer")
        return cls(
            type=NextActionType(stored_action["type"]),
            redirect_url=stored_action.get("redirect_url"),
            bank_transfer=None
            if transfer is None
            else BankTransferInstructions(
                reference=transfer["reference"],
                currency=transfer["currency"],
                amount_remaining=transfer["amount_remaining"],
                hosted_instructions_url=transfer.get("hosted_instructions_url"),
                addresses=[BankAddress(**address) for address in transfer["addresses"]],
            ),
        )


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
    # Whether one of its disputes is open now (refunds stay refused once one opened).
    disputed: bool
    amount_disputed: int
    version: int
    created_at: datetime
    updated_at: datetime
    provider: str
    payment_method_type: PaymentMethodType
    amount_received: int
    _client_secret: strawberry.Private[str | None]
    _next_action: strawberry.Private[dict[str, Any] | None]
    # A live push: the payment as of its version, whose state leaves the secret out.
    _as_of: strawberry.Private[PaymentVersion | None] = None
    # Children read with the page (PaymentConnection.from_page): answered in place
    # (graph/execution.py), where a resolver that awaits costs a task per payment and field.
    _refunds_read: strawberry.Private[list[Refund] | None] = None
    _events_read: strawberry.Private[list[PaymentEvent] | None] = None

    @strawberry.field(description="Only returned to the customer who owns the payment.")
    async def client_secret(self, info: Info) -> str | None:
        principal = info.context.known_principal
        if not (principal and principal.sub == self.customer_id):
            return None
        if self._as_of is None:
            return self._client_secret
        # The same at every version, so read from the row (only when asked for).
        return await info.context.loaders.client_secrets.load(str(self.id))

    @strawberry.field(description="What the customer has to do next; only for the owner.")
    def next_action(self, info: Info) -> NextAction | None:
        principal = info.context.known_principal
        if not (principal and principal.sub == self.customer_id):
            return None
        if self.status is not PaymentStatus.REQUIRES_ACTION:
            return None
        if self._next_action is not None:
            return NextAction.from_stored(self._next_action)
        # A card's authentication (3-D Secure) is done in the browser with the client secret.
        return NextAction(type=NextActionType.USE_CLIENT_SECRET)

    @strawberry.field(graphql_type=list[Refund], metadata={PRELOADED: "_refunds_read"})
    def refunds(self, info: Info) -> list[Refund] | Awaitable[list[Refund]]:
        if self._refunds_read is not None:
            return self._refunds_read
        if self._as_of is not None and self._as_of.refunds is not None:
            return _refunds(self._as_of.refunds)
        return self._loaded_refunds(info)

    @strawberry.field(description="Its disputes, oldest first, as they are now.")
    async def disputes(self, info: Info) -> list[Dispute]:
        rows = await info.context.loaders.disputes.load(str(self.id))
        return [Dispute.from_model(row) for row in rows]

    async def _loaded_refunds(self, info: Info) -> list[Refund]:
        return _refunds(await info.context.loaders.refunds.load(str(self.id)))

    @strawberry.field(graphql_type=list[PaymentEvent], metadata={PRELOADED: "_events_read"})
    def events(self, info: Info) -> list[PaymentEvent] | Awaitable[list[PaymentEvent]]:
        if self._events_read is not None:
            return self._events_read
        return self._loaded_events(info)

    async def _loaded_events(self, info: Info) -> list[PaymentEvent]:
        return self._events(await info.context.loaders.history.load(str(self.id)))

    def _events(self, rows: list[reads.StatusChange]) -> list[PaymentEvent]:
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
            disputed=payment.disputed,
            amount_disputed=payment.amount_disputed,
            version=payment.version,
            created_at=payment.created_at,
            updated_at=payment.updated_at,
            provider=payment.gateway,
            payment_method_type=payment.payment_method_type,
            amount_received=payment.money_received,
            _client_secret=payment.client_secret,
            _next_action=payment.next_action,
        )


def _refunds(rows: list[stored.Refund]) -> list[Refund]:
    return [Refund.from_model(row) for row in rows]


@strawberry.type
class PaymentEdge:
    cursor: str
    node: Payment


def _edges(root: "PaymentConnection") -> list[PaymentEdge]:
    # Made only when asked for: most pages select `nodes` alone.
    return [PaymentEdge(cursor=reads.encode_cursor(str(p.id)), node=p) for p in root.nodes]


@strawberry.type
class PaymentConnection:
    edges: list[PaymentEdge] = strawberry.field(resolver=_edges)
    page_info: PageInfo
    nodes: list[Payment]

    @classmethod
    def from_page(cls, page: reads.PaymentPage) -> "PaymentConnection":
        """The page's payments, with the children read with it answered in place."""
        nodes = [Payment.from_model(p) for p in page.payments]
        for index, node in enumerate(nodes):
            if page.refunds is not None:
                node._refunds_read = _refunds(page.refunds[index])
            if page.history is not None:
                node._events_read = node._events(page.history[index])
        return cls(
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
            nodes=nodes,
        )


def children_asked_for(info: Info) -> set[str]:
    """Which of `refunds` and `events` a query asks of a page's payments, to read with the page.

    A name anywhere below the connection counts (fragments included): at worst a read the
    page did not need, never a wrong answer.
    """
    return {"refunds", "events"} & _names_below(info.selected_fields)


def _names_below(selections: Sequence[Selection]) -> set[str]:
    names, waiting = set(), list(selections)
    while waiting:
        selection = waiting.pop()
        names.add(getattr(selection, "name", ""))
        waiting.extend(selection.selections)
    return names
