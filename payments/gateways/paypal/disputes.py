"""PayPal disputes answered through Customer Disputes v1: evidence provided, a claim accepted.

The SDK has no Disputes controller: the calls go through the client's REST path, with the
same token and error mapping. PayPal takes evidence only as a submission (no staging), so
`submit=false` sends it as `submit=true` would; each answer is followed by a read of the
dispute (`GET /v1/customer/disputes/{id}`), since the answers carry only links.
"""

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from payments.gateways.base import DisputeReported, Json
from payments.gateways.paypal.errors import PayPalRefusal
from payments.gateways.paypal.updates import dispute_change
from payments.shared.errors import DisputeNotOpen, GatewayUnavailable, ValidationFailed

if TYPE_CHECKING:  # the SDK loads only where the PayPal rail is wired (app/wiring.py)
    from payments.gateways.paypal.client import PayPalClient

# The `evidence_type`s of customer_disputes_v1's `evidence` a seller sends (the buyer's own,
# CREATE, CHANGE_REASON and BUYER_RESPONSE, left out).
EVIDENCE_TYPES = frozenset(
    {
        "PROOF_OF_FULFILLMENT", "PROOF_OF_REFUND", "PROOF_OF_DELIVERY_SIGNATURE",
        "PROOF_OF_RECEIPT_COPY", "RETURN_POLICY", "BILLING_AGREEMENT", "PROOF_OF_RESHIPMENT",
        "ITEM_DESCRIPTION", "POLICE_REPORT", "AFFIDAVIT", "PAID_WITH_OTHER_METHOD",
        "COPY_OF_CONTRACT", "TERMINAL_ATM_RECEIPT", "PRICE_DIFFERENCE_REASON",
        "SOURCE_CONVERSION_RATE", "BANK_STATEMENT", "CREDIT_DUE_REASON", "REQUEST_CREDIT_RECEIPT",
        "PROOF_OF_RETURN", "PROOF_OF_REFUND_OUTSIDE_PAYPAL", "RECEIPT_OF_MERCHANDISE",
        "CUSTOMS_DOCUMENT", "CUSTOMS_FEE_RECEIPT", "INFORMATION_ON_RESOLUTION",
        "ADDITIONAL_INFORMATION_OF_ITEM", "DETAILS_OF_PURCHASE", "PROOF_OF_SIGNIFICANT_DIFFERENCE",
        "PROOF_OF_SOFTWARE_OR_SERVICE_NOT_AS_DESCRIBED", "PROOF_OF_CONFISCATION",
        "PROOF_OF_DAMAGE", "COPY_OF_LAW_ENFORCEMENT_AGENCY_REPORT", "ADDITIONAL_PROOF_OF_SHIPMENT",
        "PROOF_OF_DENIAL_BY_CARRIER", "THIRDPARTY_PROOF_FOR_DAMAGE_OR_SIGNIFICANT_DIFFERENCE",
        "VALID_SUPPORTING_DOCUMENT", "LEGIBLE_SUPPORTING_DOCUMENT", "RETURN_TRACKING_INFORMATION",
        "DELIVERY_RECEIPT", "PROOF_OF_INSTORE_RECEIPT", "ADDITIONAL_TRACKING_INFORMATION",
        "PROOF_OF_SHIPMENT_POSTAGE", "ONLINE_TRACKING_INFORMATION", "PROOF_OF_INSTORE_REFUND",
        "PROOF_FOR_SOFTWARE_OR_SERVICE_DELIVERED", "RETURN_ADDRESS_FOR_SHIPPING",
        "COPY_OF_THE_EPARCEL_MANIFEST", "COPY_OF_SHIPPING_MANIFEST", "APPEAL_AFFIDAVIT",
        "RECEIPT_OF_REPLACEMENT", "COPY_OF_DRIVERS_LICENSE", "ACCOUNT_CHANGE_INFORMATION",
        "DELIVERY_ADDRESS", "CONFIRMATION_OF_RESOLUTION", "MERCHANT_RESPONSE",
        "PERMISSION_DESCRIPTION", "STATUS_OF_MERCHANDISE", "LOST_CARD_DETAILS",
        "LAST_VALID_TRANSACTION_DETAILS", "ADDITIONAL_PROOF_OF_RETURN", "DECLARATION",
        "PROOF_OF_MISSING_ITEMS", "PROOF_OF_EMPTY_PACKAGE_OR_DIFFERENT_ITEM",
        "PROOF_OF_ITEM_NOT_RECEIVED", "ORDER_DETAILS", "LISTING_URL", "SHIPPING_INSURANCE",
        "PHOTOS_OF_SHIPPED_ITEM", "OTHER",
    }
)  # fmt: skip
# The spec's limit on one evidence's `notes`.
NOTES_LIMIT = 2000
ACCEPT_NOTE = "The merchant accepts the claim."


def paypal_evidence(evidence: object) -> Json:
    """`evidence` if it maps PayPal evidence types to their notes; else ValidationFailed.

    `{"PROOF_OF_FULFILLMENT": "Shipped with UPS 1Z999 on 2 May"}` is sent as one
    `evidences[]` item of that type with those notes.
    """
    if not isinstance(evidence, dict) or not evidence:
        raise ValidationFailed("Evidence must be a non-empty JSON object.", field="evidence")
    unknown = sorted(name for name in evidence if name not in EVIDENCE_TYPES)
    if unknown:
        raise ValidationFailed(
            f"Unknown PayPal evidence types: {', '.join(unknown)[:200]}.", field="evidence"
        )
    if not all(isinstance(notes, str) and notes for notes in evidence.values()):
        raise ValidationFailed("Evidence notes must be non-empty strings.", field="evidence")
    if any(len(notes) > NOTES_LIMIT for notes in evidence.values()):
        raise ValidationFailed(
            f"PayPal takes at most {NOTES_LIMIT} characters of notes per evidence.",
            field="evidence",
        )
    return evidence


class PayPalDisputes:
    """Evidence and acceptance through PayPal's Customer Disputes API."""

    def __init__(self, client: "PayPalClient") -> None:
        self._client = client

    def evidence_fields(self, evidence: object) -> Json:
        """`evidence` as PayPal evidence types with their notes; else ValidationFailed."""
        return paypal_evidence(evidence)

    async def submit_evidence(
        self, dispute: DisputeReported, evidence: Json, submit: bool, idempotency_key: str
    ) -> DisputeReported:
        """POST provide-evidence (multipart part `input`); PayPal stages nothing: always sent."""
        evidences = [{"evidence_type": kind, "notes": notes} for kind, notes in evidence.items()]
        return await self._answer(
            dispute,
            "provide-evidence",
            idempotency_key,
            form_input={"evidences": evidences},
        )

    async def accept(self, dispute: DisputeReported, idempotency_key: str) -> DisputeReported:
        """POST accept-claim: the buyer is refunded by PayPal and the dispute resolves as lost."""
        return await self._answer(
            dispute, "accept-claim", idempotency_key, json_body={"note": ACCEPT_NOTE}
        )

    async def _answer(
        self,
        dispute: DisputeReported,
        action: str,
        request_id: str,
        *,
        json_body: Json | None = None,
        form_input: Json | None = None,
    ) -> DisputeReported:
        path = f"/v1/customer/disputes/{dispute.provider_dispute_id}"
        try:
            await self._client.send_rest(
                f"{path}/{action}",
                request_id=request_id,
                json_body=json_body,
                form_input=form_input,
            )
            current = await self._client.send_rest(path)
        except PayPalRefusal as refusal:
            # A resolved dispute (or one PayPal no longer knows): refused on every retry.
            refusal.logged("paypal_refused_dispute_answer")
            raise DisputeNotOpen() from None
        read = dispute_change(current)[2]
        if read is None:
            raise GatewayUnavailable("The payment gateway answered with an unreadable dispute.")
        # Read just now, as Stripe's answers are: PayPal's update_time may lag the answer.
        return replace(read, reported_at=datetime.now(UTC))
