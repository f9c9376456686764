"""Stripe disputes: reading the Dispute object, and answering one (evidence, close)."""

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, cast

import stripe
import structlog
from stripe.params import DisputeUpdateParams

from models.enums import DisputeStatus
from payments.gateways.base import DisputeReported, Json
from payments.gateways.stripe.errors import unavailable
from payments.shared.errors import DisputeNotOpen, GatewayUnavailable, ValidationFailed

log = structlog.get_logger(__name__)

STATUSES = {
    "warning_needs_response": DisputeStatus.WARNING_NEEDS_RESPONSE,
    "warning_under_review": DisputeStatus.WARNING_UNDER_REVIEW,
    "warning_closed": DisputeStatus.WARNING_CLOSED,
    "needs_response": DisputeStatus.NEEDS_RESPONSE,
    "under_review": DisputeStatus.UNDER_REVIEW,
    "won": DisputeStatus.WON,
    "lost": DisputeStatus.LOST,
}
# The Dispute's `evidence` fields Stripe accepts on update: text, or the id of an upload.
EVIDENCE_FIELDS = frozenset(
    {
        "access_activity_log",
        "billing_address",
        "cancellation_policy",
        "cancellation_policy_disclosure",
        "cancellation_rebuttal",
        "customer_communication",
        "customer_email_address",
        "customer_name",
        "customer_purchase_ip",
        "customer_signature",
        "duplicate_charge_documentation",
        "duplicate_charge_explanation",
        "duplicate_charge_id",
        "product_description",
        "receipt",
        "refund_policy",
        "refund_policy_disclosure",
        "refund_refusal_explanation",
        "service_date",
        "service_documentation",
        "shipping_address",
        "shipping_carrier",
        "shipping_date",
        "shipping_documentation",
        "shipping_tracking_number",
        "uncategorized_file",
        "uncategorized_text",
    }
)
_WITHDRAWN, _REINSTATED = "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated"
# Stripe's limit on all text evidence of one dispute together.
EVIDENCE_TEXT_LIMIT = 150_000


def read_dispute(
    dispute: dict[str, Any], reported_at: datetime, event_type: str | None = None
) -> DisputeReported | None:
    """A Dispute object (a webhook's or an answer's) read; None when it lacks what we keep.

    `charge.dispute.funds_withdrawn` / `funds_reinstated` say so by their type; the
    object's balance transactions say it too (a withdrawal is negative).
    """
    dispute_id, amount, currency = dispute.get("id"), dispute.get("amount"), dispute.get("currency")
    status = STATUSES.get(str(dispute.get("status")))
    if not (isinstance(dispute_id, str) and isinstance(amount, int) and isinstance(currency, str)):
        return None
    if status is None or amount < 0 or len(currency) != 3:
        return None
    movements = _balance_movements(dispute.get("balance_transactions"))
    details = dispute.get("evidence_details")
    due_by = details.get("due_by") if isinstance(details, dict) else None
    reason = dispute.get("reason")
    return DisputeReported(
        provider_dispute_id=dispute_id,
        amount=amount,
        currency=currency.upper(),
        reason=reason if isinstance(reason, str) and reason else "general",
        status=status,
        evidence_due_by=datetime.fromtimestamp(due_by, UTC) if isinstance(due_by, int) else None,
        reported_at=reported_at,
        funds_withdrawn=event_type == "charge.dispute.funds_withdrawn"
        or any(m < 0 for m in movements),
        funds_reinstated=event_type == "charge.dispute.funds_reinstated"
        or any(m > 0 for m in movements),
    )


def _balance_movements(transactions: object) -> list[int]:
    # Full objects (never ids) in Stripe's Dispute; anything else says nothing.
    if not isinstance(transactions, list):
        return []
    amounts = (t.get("amount") for t in transactions if isinstance(t, dict))
    return [amount for amount in amounts if isinstance(amount, int)]


class StripeDisputes:
    """Evidence and acceptance through Stripe's Disputes API."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    def evidence_fields(self, evidence: object) -> Json:
        """`evidence` if it is an object of Stripe's evidence fields; else ValidationFailed."""
        if not isinstance(evidence, dict) or not evidence:
            raise ValidationFailed("Evidence must be a non-empty JSON object.", field="evidence")
        unknown = sorted(name for name in evidence if name not in EVIDENCE_FIELDS)
        if unknown:
            raise ValidationFailed(
                f"Unknown evidence fields: {', '.join(unknown)[:200]}.", field="evidence"
            )
        if not all(isinstance(value, str) for value in evidence.values()):
            raise ValidationFailed("Evidence values must be strings.", field="evidence")
        if sum(len(value) for value in evidence.values()) > EVIDENCE_TEXT_LIMIT:
            raise ValidationFailed(
                f"Evidence is limited to {EVIDENCE_TEXT_LIMIT} characters.", field="evidence"
            )
        return evidence

    async def submit_evidence(
        self, dispute: DisputeReported, evidence: Json, submit: bool, idempotency_key: str
    ) -> DisputeReported:
        """POST /v1/disputes/{id} with the evidence; `submit` finalises, else it is staged."""
        params = cast(DisputeUpdateParams, {"evidence": evidence, "submit": submit})
        return await self._answered(
            self._client.v1.disputes.update_async(
                dispute.provider_dispute_id, params, {"idempotency_key": idempotency_key}
            )
        )

    async def accept(self, dispute: DisputeReported, idempotency_key: str) -> DisputeReported:
        """POST /v1/disputes/{id}/close: the dispute is conceded and closes as lost."""
        return await self._answered(
            self._client.v1.disputes.close_async(
                dispute.provider_dispute_id, options={"idempotency_key": idempotency_key}
            )
        )

    async def _answered(self, answering: Awaitable[stripe.Dispute]) -> DisputeReported:
        try:
            dispute = await answering
        except stripe.InvalidRequestError as error:
            # A closed dispute (or one Stripe no longer knows): refused on every retry.
            log.warning("stripe_refused_dispute_answer", code=error.code, param=error.param)
            raise DisputeNotOpen() from error
        except stripe.StripeError as error:
            raise unavailable(error) from error
        read = read_dispute(dispute.to_dict(), datetime.now(UTC))
        if read is None:
            raise GatewayUnavailable("The payment gateway answered with an unreadable dispute.")
        return read
