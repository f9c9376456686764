"""How a provider's report of a dispute changes the one we keep: newest state wins, never back."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.dispute import REASON_LENGTH, Dispute
from models.enums import DisputeStatus
from payments.gateways.base import DisputeReported
from payments.shared.input_rules import as_utc

# How far an open dispute has come: of two reports made in the same second (Stripe's
# `created` has no finer grain), the one further along is the newer.
_PROGRESS = {
    DisputeStatus.WARNING_NEEDS_RESPONSE: 0,
    DisputeStatus.WARNING_UNDER_REVIEW: 1,
    DisputeStatus.NEEDS_RESPONSE: 2,
    DisputeStatus.UNDER_REVIEW: 3,
}


@dataclass(frozen=True)
class EvidenceInput:
    """submitDisputeEvidence's input; the evidence is checked by the dispute's provider."""

    dispute_id: str
    # Any JSON: only an object of the provider's evidence fields is sent.
    evidence: object
    submit: bool = True


def new_columns(report: DisputeReported) -> dict[str, Any]:
    """A first report's columns (the payment and provider columns are the caller's)."""
    return {
        "provider_dispute_id": report.provider_dispute_id,
        **_state(report),
        "funds_withdrawn": report.funds_withdrawn or report.funds_reinstated,
        "funds_reinstated": report.funds_reinstated,
        "reported_at": report.reported_at,
        "closed_at": report.reported_at if report.closed else None,
    }


def changed_columns(stored: Dispute, report: DisputeReported) -> dict[str, Any]:
    """What `report` changes of `stored`; {} for a stale or repeated report.

    A closed dispute's state is final; otherwise the newest report wins, and its time is
    kept (`reported_at`, news to no one) to judge later ones. Funds withdrawn or
    reinstated are facts that stay true whatever order their reports arrive in.
    """
    wanted: dict[str, Any] = {
        "funds_withdrawn": stored.funds_withdrawn or report.funds_withdrawn,
        "funds_reinstated": stored.funds_reinstated or report.funds_reinstated,
    }
    wanted["funds_withdrawn"] = wanted["funds_withdrawn"] or wanted["funds_reinstated"]
    if supersedes(stored, report):
        wanted.update(_state(report))
        if report.closed:
            wanted["closed_at"] = report.reported_at
        if as_utc(report.reported_at) > as_utc(stored.reported_at):
            wanted["reported_at"] = report.reported_at
    return {name: value for name, value in wanted.items() if getattr(stored, name) != value}


def is_news(changes: dict[str, Any]) -> bool:
    """Whether changes made by `changed_columns` are something consumers must hear of."""
    return bool(set(changes) - {"reported_at"})


def supersedes(stored: Dispute, report: DisputeReported) -> bool:
    """Whether `report` is newer than the state `stored` was last set from."""
    if not stored.is_open:
        return False
    if report.closed:
        return True
    reported = (as_utc(report.reported_at), _PROGRESS[report.status])
    return reported >= (as_utc(stored.reported_at), _PROGRESS[stored.status])


def as_report(dispute: Dispute) -> DisputeReported:
    """The dispute as we keep it, in the shape a provider reports one."""
    return DisputeReported(
        provider_dispute_id=dispute.provider_dispute_id,
        amount=dispute.amount,
        currency=dispute.currency,
        reason=dispute.reason,
        status=dispute.status,
        evidence_due_by=dispute.evidence_due_by,
        reported_at=dispute.reported_at,
        funds_withdrawn=dispute.funds_withdrawn,
        funds_reinstated=dispute.funds_reinstated,
    )


def snapshot(dispute: Dispute) -> dict[str, Any]:
    """The dispute as consumers see it in an event's `data.dispute`."""
    return {
        "id": dispute.id,
        "providerDisputeId": dispute.provider_dispute_id,
        "amount": dispute.amount,
        "currency": dispute.currency,
        "reason": dispute.reason,
        "status": dispute.status.value,
        "evidenceDueBy": _iso(dispute.evidence_due_by),
        "fundsWithdrawn": dispute.funds_withdrawn,
        "fundsReinstated": dispute.funds_reinstated,
        "closedAt": _iso(dispute.closed_at),
    }


def _state(report: DisputeReported) -> dict[str, Any]:
    return {
        "amount": report.amount,
        "currency": report.currency,
        "reason": report.reason[:REASON_LENGTH],
        "status": report.status,
        "evidence_due_by": report.evidence_due_by,
    }


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat().replace("+00:00", "Z") if moment else None
