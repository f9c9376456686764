"""The simulated gateway's disputes: answered at once, as Stripe's test mode answers them."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from models.enums import DisputeStatus
from payments.gateways.base import DisputeReported, Json
from payments.shared.errors import ValidationFailed

_INQUIRIES = frozenset({DisputeStatus.WARNING_NEEDS_RESPONSE, DisputeStatus.WARNING_UNDER_REVIEW})


def any_text(evidence: object) -> Json:
    """Any non-empty object of text: the simulated card provider names no fields."""
    if not isinstance(evidence, dict) or not evidence:
        raise ValidationFailed("Evidence must be a non-empty JSON object.", field="evidence")
    if not all(isinstance(value, str) for value in evidence.values()):
        raise ValidationFailed("Evidence values must be strings.", field="evidence")
    return evidence


@dataclass(frozen=True)
class SimulatedDisputes:
    """Evidence puts a dispute under review; accepting it loses it (closes an inquiry)."""

    # The evidence the simulated provider takes: app/ gives the simulated PayPal PayPal's rule.
    evidence_rule: Callable[[object], Json] = field(default=any_text)
    # Stripe stages evidence sent without `submit`; PayPal takes evidence only as a submission.
    stages_evidence: bool = True

    def evidence_fields(self, evidence: object) -> Json:
        """`evidence` if the simulated provider's rule takes it; else ValidationFailed."""
        return self.evidence_rule(evidence)

    async def submit_evidence(
        self, dispute: DisputeReported, evidence: Json, submit: bool, idempotency_key: str
    ) -> DisputeReported:
        """Staged evidence changes nothing; submitted (or unstageable), it goes under review."""
        if not submit and self.stages_evidence:
            return replace(dispute, reported_at=datetime.now(UTC))
        inquiry = dispute.status in _INQUIRIES
        status = DisputeStatus.WARNING_UNDER_REVIEW if inquiry else DisputeStatus.UNDER_REVIEW
        return replace(dispute, status=status, reported_at=datetime.now(UTC))

    async def accept(self, dispute: DisputeReported, idempotency_key: str) -> DisputeReported:
        """Lost; an inquiry (no money moved) closes instead."""
        inquiry = dispute.status in _INQUIRIES
        status = DisputeStatus.WARNING_CLOSED if inquiry else DisputeStatus.LOST
        return replace(dispute, status=status, reported_at=datetime.now(UTC))
