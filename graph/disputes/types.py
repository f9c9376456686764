"""The Dispute type and its Relay connection."""

from datetime import datetime

import strawberry

from graph.connections import Node, PageInfo
from graph.enums import DisputeStatus
from models import dispute as stored
from payments.disputes import reads as disputes


@strawberry.type
class Dispute(Node):
    amount: int
    currency: str
    reason: str
    status: DisputeStatus
    evidence_due_by: datetime | None
    provider_dispute_id: str
    created_at: datetime
    closed_at: datetime | None
    funds_withdrawn: bool
    funds_reinstated: bool
    # Null while no payment of ours matches the provider's dispute (admins see those).
    payment_id: strawberry.ID | None

    @classmethod
    def from_model(cls, dispute: stored.Dispute) -> "Dispute":
        return cls(
            id=strawberry.ID(dispute.id),
            amount=dispute.amount,
            currency=dispute.currency,
            reason=dispute.reason,
            status=dispute.status,
            evidence_due_by=dispute.evidence_due_by,
            provider_dispute_id=dispute.provider_dispute_id,
            created_at=dispute.created_at,
            closed_at=dispute.closed_at,
            funds_withdrawn=dispute.funds_withdrawn,
            funds_reinstated=dispute.funds_reinstated,
            payment_id=strawberry.ID(dispute.payment_id) if dispute.payment_id else None,
        )


@strawberry.type
class DisputeEdge:
    cursor: str
    node: Dispute


@strawberry.type
class DisputeConnection:
    edges: list[DisputeEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Dispute]:
        return [edge.node for edge in self.edges]

    @classmethod
    def from_page(cls, page: disputes.DisputePage) -> "DisputeConnection":
        edges = [
            DisputeEdge(cursor=disputes.encode_cursor(d.id), node=Dispute.from_model(d))
            for d in page.disputes
        ]
        end = edges[-1].cursor if edges else None
        return cls(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=end)
        )
