"""The fake Stripe account's Disputes: opened by a cardholder, answered, decided by the network.

Built from Stripe's example Dispute. Opening a chargeback withdraws its amount at once
(a balance transaction) and makes `charge.dispute.created` and `charge.dispute.funds_withdrawn`;
`POST /v1/disputes/{id}` stages evidence or, with `submit`, puts the dispute under review;
`POST /v1/disputes/{id}/close` concedes it (lost; an inquiry closes); the network's
decision (`decide`) closes it won (the money comes back) or lost. A closed dispute refuses
every change. Each change records the event Stripe would send, with the object as it was.
"""

import copy
import secrets
import time
from dataclasses import dataclass, field

from tests.fakes.stripe_examples import Json, example
from tests.fakes.stripe_ledger import ParameterError, StripeFailure, StripeLedger, invalid_request

UPDATE_PARAMS = {"evidence", "submit", "metadata"}
CLOSED = {"won", "lost", "warning_closed"}
_INQUIRY = {"warning_needs_response", "warning_under_review"}
# Seven days to answer, as Stripe gives for most card networks.
_RESPONSE_SECONDS = 7 * 86400


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass
class DisputeLedger:
    ledger: StripeLedger
    disputes: dict[str, Json] = field(default_factory=dict)

    def open(self, intent_id: str, reason: str = "fraudulent", inquiry: bool = False) -> Json:
        """A cardholder disputes the intent's charge: a chargeback, or an inquiry (no money)."""
        intent = self.ledger.payment_intents[intent_id]
        charge = self.ledger.charges[intent["latest_charge"]]
        now = int(time.time())
        dispute = example(
            "dispute",
            id=_new_id("dp"),
            amount=charge["amount_captured"],
            balance_transactions=[],
            charge=charge["id"],
            created=now,
            currency=charge["currency"],
            payment_intent=intent_id,
            reason=reason,
            status="warning_needs_response" if inquiry else "needs_response",
        )
        dispute["evidence_details"].update(due_by=now + _RESPONSE_SECONDS)
        self.disputes[dispute["id"]] = dispute
        charge["disputed"] = True
        self.ledger.record_event("charge.dispute.created", dispute)
        if not inquiry:
            self._move_funds(dispute, -dispute["amount"], "charge.dispute.funds_withdrawn")
        return dispute

    def retrieve(self, dispute_id: str) -> Json:
        return self._get(dispute_id)

    def update(self, dispute_id: str, params: Json) -> Json:
        """POST /v1/disputes/{id}: evidence staged, or submitted (`submit=true`) for review."""
        for name in params:
            if name not in UPDATE_PARAMS:
                raise _unknown(name)
        evidence = params.get("evidence", {})
        known = example("dispute")["evidence"]
        for name in evidence if isinstance(evidence, dict) else ["evidence"]:
            if name not in known or name == "enhanced_evidence":
                raise _unknown(f"evidence[{name}]")
        dispute = self._open(dispute_id)
        dispute["evidence"].update(evidence)
        dispute["evidence_details"]["has_evidence"] = True
        if params.get("submit") == "true":
            dispute["evidence_details"]["submission_count"] += 1
            inquiry = dispute["status"] in _INQUIRY
            dispute["status"] = "warning_under_review" if inquiry else "under_review"
        dispute["metadata"].update(params.get("metadata", {}))
        self.ledger.record_event("charge.dispute.updated", dispute)
        return copy.deepcopy(dispute)

    def close(self, dispute_id: str) -> Json:
        """POST /v1/disputes/{id}/close: the merchant concedes; lost (an inquiry just closes)."""
        dispute = self._open(dispute_id)
        dispute["status"] = "warning_closed" if dispute["status"] in _INQUIRY else "lost"
        dispute["is_charge_refundable"] = False
        self.ledger.record_event("charge.dispute.closed", dispute)
        return copy.deepcopy(dispute)

    def decide(self, dispute_id: str, won: bool) -> Json:
        """The card network decides; a won chargeback gives the withdrawn money back."""
        dispute = self._open(dispute_id)
        dispute["status"] = "won" if won else "lost"
        self.ledger.record_event("charge.dispute.closed", dispute)
        if won and dispute["balance_transactions"]:
            self._move_funds(dispute, dispute["amount"], "charge.dispute.funds_reinstated")
        return copy.deepcopy(dispute)

    def _move_funds(self, dispute: Json, amount: int, event_type: str) -> None:
        transaction = example(
            "balance_transaction",
            id=_new_id("txn"),
            amount=amount,
            net=amount - 1500 if amount < 0 else amount,
            fee=1500 if amount < 0 else 0,
            created=int(time.time()),
            currency=dispute["currency"],
            description="Chargeback withdrawal" if amount < 0 else "Chargeback reversal",
            reporting_category="dispute" if amount < 0 else "dispute_reversal",
            source=dispute["id"],
            type="adjustment",
        )
        dispute["balance_transactions"].append(transaction)
        self.ledger.record_event(event_type, dispute)

    def _get(self, dispute_id: str) -> Json:
        if dispute_id not in self.disputes:
            message = f"No such dispute: '{dispute_id}'"
            raise StripeFailure(404, invalid_request(message, "resource_missing", "dispute"))
        return self.disputes[dispute_id]

    def _open(self, dispute_id: str) -> Json:
        dispute = self._get(dispute_id)
        if dispute["status"] in CLOSED:
            message = "This dispute is already closed"
            raise StripeFailure(400, invalid_request(message))
        return dispute


def _unknown(name: str) -> ParameterError:
    message = f"Received unknown parameter: {name}"
    return ParameterError(400, invalid_request(message, "parameter_unknown", name))
