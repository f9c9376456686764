"""The Refund type."""

from datetime import datetime

import strawberry

from graph.connections import Node
from graph.enums import RefundReason, RefundStatus
from models import payment as stored


@strawberry.type
class Refund(Node):
    amount: int
    status: RefundStatus
    reason: RefundReason | None
    created_at: datetime

    @classmethod
    def from_model(cls, refund: stored.Refund) -> "Refund":
        return cls(
            id=strawberry.ID(refund.id),
            amount=refund.amount,
            status=refund.status,
            reason=refund.reason,
            created_at=refund.created_at,
        )
