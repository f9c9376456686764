"""payment, payments and node: translate arguments, call one read service, shape the answer."""

from datetime import datetime

import strawberry

from graph.connections import Node
from graph.context import Info
from graph.disputes.types import Dispute
from graph.endpoints.types import EventEndpoint
from graph.enums import PaymentStatus
from graph.payments.types import Payment, PaymentConnection, children_asked_for
from graph.refunds.types import Refund
from payments.disputes import reads as disputes
from payments.endpoints import service as endpoints
from payments.reads import service as reads


@strawberry.input
class PaymentFilter:
    status: list[PaymentStatus] | None = None
    order_id: str | None = None
    customer_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    def to_domain(self) -> reads.PaymentFilter:
        return reads.PaymentFilter(
            statuses=tuple(self.status or ()),
            order_id=self.order_id,
            customer_id=self.customer_id,
            created_after=self.created_after,
            created_before=self.created_before,
        )


@strawberry.type
class PaymentQueries:
    @strawberry.field(description="A payment visible to the caller, or null.")
    async def payment(self, info: Info, id: strawberry.ID) -> Payment | None:
        payment = await reads.get_payment(await info.context.principal(), str(id))
        return Payment.from_model(payment) if payment else None

    @strawberry.field(description="The caller's payments, newest first.")
    async def payments(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: PaymentFilter | None = None,
    ) -> PaymentConnection:
        principal = await info.context.principal()
        domain_filter = (filter or PaymentFilter()).to_domain()
        page_size = 20 if first is None else first
        children = children_asked_for(info)
        page = await reads.list_payments(
            principal,
            page_size,
            after,
            domain_filter,
            with_refunds="refunds" in children,
            with_history="events" in children,
        )
        return PaymentConnection.from_page(page)

    @strawberry.field(description="A payment, refund or dispute by its id, or null.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        principal = await info.context.principal()
        if str(id).startswith("dsp_"):
            dispute = await disputes.get_dispute(principal, str(id))
            return Dispute.from_model(dispute) if dispute else None
        if str(id).startswith("ep_"):
            endpoint = await endpoints.get_endpoint(principal, str(id))
            return EventEndpoint.from_model(endpoint) if endpoint else None
        if str(id).startswith("rfd_"):
            refund = await reads.get_refund(principal, str(id))
            return Refund.from_model(refund) if refund else None
        payment = await reads.get_payment(principal, str(id))
        return Payment.from_model(payment) if payment else None
