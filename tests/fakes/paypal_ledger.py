"""PayPal's orders, authorizations, captures and refunds as its OpenAPI files describe them.

Shapes follow /work/shared/paypal/: statuses (`CREATED`, `PAYER_ACTION_REQUIRED`,
`APPROVED`, `COMPLETED`; captures `COMPLETED`/`PENDING`/`DECLINED`; authorizations
`CREATED`/`CAPTURED`/`PARTIALLY_CAPTURED`/`VOIDED`), money as `{currency_code, value}` with
decimal strings, HATEOAS `links`, conditional fields left out until they apply, and error
bodies with `name`, `message`, `debug_id` and `details[].issue`.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

Json = dict[str, Any]

# How the buyer's approval ends when the order is captured (the knob `approve` sets).
COMPLETED = "completed"
PENDING = "pending"
DECLINED = "declined"
# PayPal refuses the capture itself with 422 INSTRUMENT_DECLINED.
INSTRUMENT_DECLINED = "instrument_declined"

_API = "https://api.sandbox.paypal.com"
_ZERO_DECIMAL = {"JPY", "HUF", "TWD"}


class PayPalFailure(Exception):
    """An error answer: HTTP status and PayPal's error body."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(body.get("name"))
        self.status = status
        self.body = body


def unprocessable(issue: str, description: str, field_: str | None = None) -> PayPalFailure:
    detail: Json = {"issue": issue, "description": description}
    if field_ is not None:
        detail["field"] = field_
    return _failure(
        422,
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed "
        "business validation.",
        [detail],
    )


def invalid_request(issue: str, description: str, field_: str) -> PayPalFailure:
    detail = {"issue": issue, "description": description, "field": field_, "location": "body"}
    return _failure(
        400,
        "INVALID_REQUEST",
        "Request is not well-formed, syntactically incorrect, or violates schema.",
        [detail],
    )


def not_found(kind: str) -> PayPalFailure:
    detail = {"issue": "INVALID_RESOURCE_ID", "description": f"Specified {kind} ID does not exist."}
    return _failure(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.", [detail])


def _failure(status: int, name: str, message: str, details: list[Json]) -> PayPalFailure:
    return PayPalFailure(
        status,
        {
            "name": name,
            "message": message,
            "debug_id": uuid.uuid4().hex[:13],
            "details": details,
            "links": [
                {
                    "href": "https://developer.paypal.com/api/rest/reference/orders/v2/errors/",
                    "rel": "information_link",
                    "method": "GET",
                }
            ],
        },
    )


def _new_id() -> str:
    # PayPal's ids: 17 upper-case letters and digits; never 13+ digits in a row here.
    raw = uuid.uuid4().hex.upper()
    return f"{raw[:4]}X{raw[4:8]}Y{raw[8:15]}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _link(path: str, rel: str, method: str = "GET") -> Json:
    return {"href": f"{_API}{path}", "rel": rel, "method": method}


def to_minor(money: Json) -> int:
    """A PayPal amount in the currency's minor units."""
    exponent = 0 if money["currency_code"] in _ZERO_DECIMAL else 2
    return int(Decimal(money["value"]) * (10**exponent))


def money(currency: str, minor: int) -> Json:
    if currency in _ZERO_DECIMAL:
        return {"currency_code": currency, "value": str(minor)}
    return {"currency_code": currency, "value": f"{Decimal(minor) / 100:.2f}"}


@dataclass
class PayPalLedger:
    """Every object the fake PayPal made, and how each order's approval will end."""

    orders: dict[str, Json] = field(default_factory=dict)
    captures: dict[str, Json] = field(default_factory=dict)
    authorizations: dict[str, Json] = field(default_factory=dict)
    refunds: dict[str, Json] = field(default_factory=dict)
    # order id -> COMPLETED / PENDING / DECLINED / INSTRUMENT_DECLINED
    outcomes: dict[str, str] = field(default_factory=dict)
    # Capture and authorization calls that moved money (replays excluded), per order.
    money_moves: dict[str, int] = field(default_factory=dict)

    def create_order(self, body: Json, prefer: str | None) -> Json:
        units = body.get("purchase_units")
        intent = body.get("intent")
        if intent not in ("CAPTURE", "AUTHORIZE"):
            raise invalid_request("INVALID_PARAMETER_VALUE", "intent is invalid.", "/intent")
        if not isinstance(units, list) or len(units) != 1:
            raise invalid_request(
                "INVALID_ARRAY_MIN_ITEMS", "One purchase unit.", "/purchase_units"
            )
        amount = units[0].get("amount") or {}
        try:
            minor = to_minor(amount)
        except (KeyError, ArithmeticError, ValueError):
            raise invalid_request(
                "INVALID_PARAMETER_SYNTAX",
                "Bad amount.",
                "/purchase_units/@reference_id=='default'/amount/value",
            ) from None
        if minor <= 0:
            raise unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.")
        order_id = _new_id()
        experience = ((body.get("payment_source") or {}).get("paypal") or {}).get(
            "experience_context"
        ) or {}
        unit: Json = {
            "reference_id": units[0].get("reference_id") or "default",
            "amount": money(amount["currency_code"], minor),
            "payee": {"email_address": "merchant@example.com", "merchant_id": "MERCHANT7X9Q"},
        }
        for name in ("custom_id", "invoice_id", "description"):
            if units[0].get(name) is not None:
                unit[name] = units[0][name]
        order: Json = {
            "id": order_id,
            "intent": intent,
            # With a payment source and its experience context PayPal asks the payer to act.
            "status": "PAYER_ACTION_REQUIRED" if experience else "CREATED",
            "purchase_units": [unit],
            "create_time": _now(),
            "_experience": experience,
        }
        self.orders[order_id] = order
        self.outcomes[order_id] = COMPLETED
        return self.render_order(order_id, prefer)

    def approve(self, order_id: str, outcome: str = COMPLETED) -> None:
        """The buyer approves at PayPal; `outcome` is how the later capture ends."""
        order = self.order(order_id)
        if order["status"] not in ("CREATED", "PAYER_ACTION_REQUIRED"):
            raise AssertionError(f"order {order_id} is {order['status']}")
        order["status"] = "APPROVED"
        order["payer"] = {
            "email_address": "buyer@example.com",
            "payer_id": "BUYER4Q7Z2",
            "name": {"given_name": "Test", "surname": "Buyer"},
        }
        order["payment_source"] = {
            "paypal": {
                "email_address": "buyer@example.com",
                "account_id": "BUYER4Q7Z2",
                "account_status": "VERIFIED",
            }
        }
        self.outcomes[order_id] = outcome

    def order(self, order_id: str) -> Json:
        if order_id not in self.orders:
            raise not_found("order")
        return self.orders[order_id]

    def render_order(self, order_id: str, prefer: str | None) -> Json:
        order = self.order(order_id)
        links = [_link(f"/v2/checkout/orders/{order_id}", "self")]
        if order["status"] == "PAYER_ACTION_REQUIRED":
            links.append(
                {
                    "href": f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}",
                    "rel": "payer-action",
                    "method": "GET",
                }
            )
        elif order["status"] == "CREATED":
            links.append(
                {
                    "href": f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}",
                    "rel": "approve",
                    "method": "GET",
                }
            )
            links.append(_link(f"/v2/checkout/orders/{order_id}", "update", "PATCH"))
        if order["status"] == "APPROVED":
            action = "capture" if order["intent"] == "CAPTURE" else "authorize"
            links.append(_link(f"/v2/checkout/orders/{order_id}/{action}", action, "POST"))
        if prefer is not None and "minimal" in prefer:
            return {"id": order_id, "status": order["status"], "links": links}
        shown = {k: v for k, v in order.items() if not k.startswith("_")}
        shown["purchase_units"] = [
            self._render_unit(order, unit) for unit in order["purchase_units"]
        ]
        shown["links"] = links
        return shown

    def _render_unit(self, order: Json, unit: Json) -> Json:
        shown = {k: v for k, v in unit.items() if k != "_payments"}
        payments = unit.get("_payments")
        if payments:
            shown["payments"] = {
                kind: [self._render_payment(kind, item_id) for item_id in ids]
                for kind, ids in payments.items()
            }
        return shown

    def _render_payment(self, kind: str, item_id: str) -> Json:
        if kind == "captures":
            return self.render_capture(item_id)
        if kind == "authorizations":
            return self.render_authorization(item_id)
        return self.render_refund(item_id)

    def capture_order(self, order_id: str, prefer: str | None) -> Json:
        order = self.order(order_id)
        self._check_approved(order, "CAPTURE")
        outcome = self.outcomes[order_id]
        if outcome == INSTRUMENT_DECLINED:
            raise unprocessable(
                "INSTRUMENT_DECLINED",
                "The instrument presented  was either declined by the processor or bank, or it "
                "can't be used for this payment.",
            )
        unit = order["purchase_units"][0]
        status = {COMPLETED: "COMPLETED", PENDING: "PENDING", DECLINED: "DECLINED"}[outcome]
        capture_id = self._new_capture(order_id, unit, to_minor(unit["amount"]), status, None, True)
        unit.setdefault("_payments", {}).setdefault("captures", []).append(capture_id)
        order["status"] = "COMPLETED"
        order["update_time"] = _now()
        self.money_moves[order_id] = self.money_moves.get(order_id, 0) + 1
        return self.render_order(order_id, prefer)

    def authorize_order(self, order_id: str, prefer: str | None) -> Json:
        order = self.order(order_id)
        self._check_approved(order, "AUTHORIZE")
        unit = order["purchase_units"][0]
        auth_id = _new_id()
        created = datetime.now(UTC)
        self.authorizations[auth_id] = {
            "id": auth_id,
            "status": "CREATED",
            "amount": dict(unit["amount"]),
            "_order": order_id,
            "_captured": 0,
            "custom_id": unit.get("custom_id"),
            "seller_protection": {
                "status": "ELIGIBLE",
                "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"],
            },
            "expiration_time": (created + timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "create_time": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "update_time": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        unit.setdefault("_payments", {}).setdefault("authorizations", []).append(auth_id)
        order["status"] = "COMPLETED"
        self.money_moves[order_id] = self.money_moves.get(order_id, 0) + 1
        return self.render_order(order_id, prefer)

    def _check_approved(self, order: Json, intent: str) -> None:
        if order["intent"] != intent:
            raise unprocessable(
                "ACTION_DOES_NOT_MATCH_INTENT",
                f"Order was created with an intent other than {intent}.",
            )
        if order["status"] == "COMPLETED":
            issue = "ORDER_ALREADY_CAPTURED" if intent == "CAPTURE" else "ORDER_ALREADY_AUTHORIZED"
            raise unprocessable(issue, "Order already captured or authorized.")
        if order["status"] != "APPROVED":
            raise unprocessable(
                "ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment."
            )

    def _new_capture(
        self, order_id: str, unit: Json, minor: int, status: str, auth_id: str | None, final: bool
    ) -> str:
        capture_id = _new_id()
        capture: Json = {
            "id": capture_id,
            "status": status,
            "amount": money(unit["amount"]["currency_code"], minor),
            "final_capture": final,
            "seller_protection": {
                "status": "ELIGIBLE",
                "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"],
            },
            "create_time": _now(),
            "update_time": _now(),
            "_order": order_id,
            "_auth": auth_id,
            "_refunded": 0,
        }
        if unit.get("custom_id") is not None:
            capture["custom_id"] = unit["custom_id"]
        if status == "PENDING":
            capture["status_details"] = {"reason": "PENDING_REVIEW"}
        if status == "DECLINED":
            capture["status_details"] = {"reason": "DECLINED_BY_RISK_FRAUD_FILTERS"}
        if status == "COMPLETED":
            fee = minor * 349 // 10_000 + 49
            capture["seller_receivable_breakdown"] = {
                "gross_amount": money(unit["amount"]["currency_code"], minor),
                "paypal_fee": money(unit["amount"]["currency_code"], fee),
                "net_amount": money(unit["amount"]["currency_code"], minor - fee),
            }
        self.captures[capture_id] = capture
        return capture_id

    def settle_capture(self, capture_id: str, status: str) -> None:
        """A PENDING capture completes or is denied later (PayPal's review)."""
        capture = self.captures[capture_id]
        capture["status"] = status
        capture.pop("status_details", None)
        capture["update_time"] = _now()

    def render_capture(self, capture_id: str) -> Json:
        if capture_id not in self.captures:
            raise not_found("capture")
        capture = self.captures[capture_id]
        shown = {k: v for k, v in capture.items() if not k.startswith("_")}
        shown["supplementary_data"] = {
            "related_ids": {
                "order_id": capture["_order"],
                **({"authorization_id": capture["_auth"]} if capture["_auth"] else {}),
            }
        }
        shown["links"] = [
            _link(f"/v2/payments/captures/{capture_id}", "self"),
            _link(f"/v2/payments/captures/{capture_id}/refund", "refund", "POST"),
            _link(f"/v2/checkout/orders/{capture['_order']}", "up"),
        ]
        return shown

    def capture_authorization(self, auth_id: str, body: Json) -> Json:
        auth = self.authorization(auth_id)
        if auth["status"] == "VOIDED":
            raise unprocessable(
                "AUTHORIZATION_VOIDED", "A voided authorization cannot be captured or reauthorized."
            )
        if auth["status"] == "CAPTURED":
            raise unprocessable(
                "AUTHORIZATION_ALREADY_CAPTURED",
                "Authorization has been previously captured and hence cannot be voided.",
            )
        total = to_minor(auth["amount"])
        wanted = to_minor(body["amount"]) if body.get("amount") else total - auth["_captured"]
        if (
            body.get("amount")
            and body["amount"].get("currency_code") != auth["amount"]["currency_code"]
        ):
            raise unprocessable(
                "AUTH_CAPTURE_CURRENCY_MISMATCH",
                "Currency of capture must be the same as currency of authorization.",
            )
        if wanted <= 0:
            raise unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.")
        if auth["_captured"] + wanted > total:
            raise unprocessable(
                "MAX_CAPTURE_AMOUNT_EXCEEDED", "Capture amount exceeds allowable limit."
            )
        final = bool(body.get("final_capture", False))
        order = self.orders[auth["_order"]]
        unit = order["purchase_units"][0]
        capture_id = self._new_capture(auth["_order"], unit, wanted, "COMPLETED", auth_id, final)
        unit.setdefault("_payments", {}).setdefault("captures", []).append(capture_id)
        auth["_captured"] += wanted
        auth["status"] = "CAPTURED" if final or auth["_captured"] == total else "PARTIALLY_CAPTURED"
        auth["update_time"] = _now()
        self.money_moves[auth["_order"]] = self.money_moves.get(auth["_order"], 0) + 1
        return self.render_capture(capture_id)

    def void_authorization(self, auth_id: str) -> Json:
        auth = self.authorization(auth_id)
        if auth["status"] in ("CAPTURED", "PARTIALLY_CAPTURED"):
            raise unprocessable(
                "PREVIOUSLY_CAPTURED",
                "Authorization has been previously captured and hence cannot be voided.",
            )
        if auth["status"] == "VOIDED":
            raise unprocessable(
                "PREVIOUSLY_VOIDED",
                "Authorization has been previously voided and hence cannot be voided again.",
            )
        auth["status"] = "VOIDED"
        auth["update_time"] = _now()
        return self.render_authorization(auth_id)

    def authorization(self, auth_id: str) -> Json:
        if auth_id not in self.authorizations:
            raise not_found("authorization")
        return self.authorizations[auth_id]

    def render_authorization(self, auth_id: str) -> Json:
        auth = self.authorization(auth_id)
        shown = {k: v for k, v in auth.items() if not k.startswith("_") and v is not None}
        shown["supplementary_data"] = {"related_ids": {"order_id": auth["_order"]}}
        links = [_link(f"/v2/payments/authorizations/{auth_id}", "self")]
        if auth["status"] in ("CREATED", "PARTIALLY_CAPTURED"):
            links += [
                _link(f"/v2/payments/authorizations/{auth_id}/capture", "capture", "POST"),
                _link(f"/v2/payments/authorizations/{auth_id}/void", "void", "POST"),
            ]
        shown["links"] = links
        return shown

    def refund_capture(self, capture_id: str, body: Json) -> Json:
        if capture_id not in self.captures:
            raise not_found("capture")
        capture = self.captures[capture_id]
        if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            raise unprocessable(
                "CAPTURE_FULLY_REFUNDED"
                if capture["status"] == "REFUNDED"
                else "REFUND_NOT_ALLOWED",
                "The capture cannot be refunded.",
            )
        total = to_minor(capture["amount"])
        wanted = to_minor(body["amount"]) if body.get("amount") else total - capture["_refunded"]
        if capture["_refunded"] + wanted > total:
            raise unprocessable(
                "REFUND_AMOUNT_EXCEEDED",
                "The refund amount must be less than or equal to the capture amount that has not "
                "yet been refunded.",
            )
        refund_id = _new_id()
        refund: Json = {
            "id": refund_id,
            "status": "COMPLETED",
            "amount": money(capture["amount"]["currency_code"], wanted),
            "create_time": _now(),
            "update_time": _now(),
            "_capture": capture_id,
        }
        for name in ("custom_id", "invoice_id", "note_to_payer"):
            if body.get(name) is not None:
                refund[name] = body[name]
        self.refunds[refund_id] = refund
        unit = self.orders[capture["_order"]]["purchase_units"][0]
        unit.setdefault("_payments", {}).setdefault("refunds", []).append(refund_id)
        capture["_refunded"] += wanted
        capture["status"] = "REFUNDED" if capture["_refunded"] == total else "PARTIALLY_REFUNDED"
        return self.render_refund(refund_id)

    def render_refund(self, refund_id: str) -> Json:
        if refund_id not in self.refunds:
            raise not_found("refund")
        refund = self.refunds[refund_id]
        shown = {k: v for k, v in refund.items() if not k.startswith("_")}
        shown["links"] = [
            _link(f"/v2/payments/refunds/{refund_id}", "self"),
            _link(f"/v2/payments/captures/{refund['_capture']}", "up"),
        ]
        return shown

    def captures_of(self, order_id: str) -> list[Json]:
        return [c for c in self.captures.values() if c["_order"] == order_id]

    def refunds_of(self, order_id: str) -> list[Json]:
        ids = {c["id"] for c in self.captures_of(order_id)}
        return [r for r in self.refunds.values() if r["_capture"] in ids]


@dataclass
class PayPalDisputes:
    """Customer Disputes v1 as customer_disputes_v1.json describes the seller's side of it."""

    ledger: PayPalLedger
    disputes: dict[str, Json] = field(default_factory=dict)

    def open(self, capture_id: str, inquiry: bool = False) -> Json:
        """The buyer disputes a capture; the dispute as CUSTOMER.DISPUTE.CREATED carries it."""
        capture = self.ledger.captures[capture_id]
        dispute_id = f"PP-R-{uuid.uuid4().hex[:8].upper()}"
        created = datetime.now(UTC)
        self.disputes[dispute_id] = {
            "dispute_id": dispute_id,
            "create_time": _millis(created),
            "update_time": _millis(created),
            "disputed_transactions": [
                {
                    "seller_transaction_id": capture_id,
                    "create_time": capture["create_time"],
                    "transaction_status": "COMPLETED",
                    "gross_amount": dict(capture["amount"]),
                    **({"custom": capture["custom_id"]} if "custom_id" in capture else {}),
                    "seller_protection_eligible": True,
                }
            ],
            "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
            "status": "WAITING_FOR_SELLER_RESPONSE",
            "dispute_amount": dict(capture["amount"]),
            "dispute_life_cycle_stage": "INQUIRY" if inquiry else "CHARGEBACK",
            "dispute_channel": "INTERNAL",
            "seller_response_due_date": _millis(created + timedelta(days=10)),
            "money_movements": []
            if inquiry
            else [
                {
                    "affected_party": "SELLER",
                    "affected_party_account": "MERCHANT7X9Q",
                    "amount": dict(capture["amount"]),
                    "initiated_time": _millis(created),
                    "type": "DEBIT",
                    "reason": "DISPUTE_SETTLEMENT",
                }
            ],
        }
        return self.render(dispute_id)

    def dispute(self, dispute_id: str) -> Json:
        if dispute_id not in self.disputes:
            raise not_found("dispute")
        return self.disputes[dispute_id]

    def provide_evidence(self, dispute_id: str, form_input: Json) -> Json:
        """The seller's evidence: the dispute goes to PayPal's review."""
        dispute = self._open(dispute_id)
        evidences = form_input.get("evidences")
        if not isinstance(evidences, list) or not evidences:
            raise invalid_request(
                "MISSING_REQUIRED_PARAMETER", "evidences is required.", "/evidences"
            )
        for evidence in evidences:
            if (
                not isinstance(evidence, dict)
                or evidence.get("evidence_type") not in EVIDENCE_TYPES
            ):
                raise invalid_request(
                    "INVALID_PARAMETER_VALUE",
                    "evidence_type is invalid.",
                    "/evidences/evidence_type",
                )
        dispute.setdefault("evidences", []).extend(
            {**evidence, "source": "SUBMITTED_BY_SELLER", "date": _millis(datetime.now(UTC))}
            for evidence in evidences
        )
        dispute["status"] = "UNDER_REVIEW"
        dispute["update_time"] = _millis(datetime.now(UTC))
        return self.render(dispute_id)

    def accept_claim(self, dispute_id: str, body: Json) -> Json:
        """The seller concedes: resolved in the buyer's favour."""
        dispute = self._open(dispute_id)
        dispute["status"] = "RESOLVED"
        dispute["dispute_outcome"] = {
            "outcome_code": "RESOLVED_BUYER_FAVOUR",
            "amount_refunded": dict(dispute["dispute_amount"]),
        }
        if isinstance(body.get("note"), str):
            dispute.setdefault("messages", []).append(
                {
                    "posted_by": "SELLER",
                    "time_posted": _millis(datetime.now(UTC)),
                    "content": body["note"],
                }
            )
        dispute["update_time"] = _millis(datetime.now(UTC))
        return self.render(dispute_id)

    def resolve(self, dispute_id: str, outcome_code: str) -> Json:
        """PayPal decides (RESOLVED_SELLER_FAVOUR, RESOLVED_BUYER_FAVOUR, ...)."""
        dispute = self.dispute(dispute_id)
        dispute["status"] = "RESOLVED"
        dispute["dispute_outcome"] = {"outcome_code": outcome_code}
        dispute["update_time"] = _millis(datetime.now(UTC))
        return self.render(dispute_id)

    def _open(self, dispute_id: str) -> Json:
        dispute = self.dispute(dispute_id)
        if dispute["status"] == "RESOLVED":
            # The spec names no issue for it; this is the 422 shape its `error` describes.
            raise unprocessable("DISPUTE_ALREADY_RESOLVED", "The dispute is already resolved.")
        return dispute

    def render(self, dispute_id: str) -> Json:
        shown = {k: v for k, v in self.dispute(dispute_id).items() if v != []}
        path = f"/v1/customer/disputes/{dispute_id}"
        links = [_link(path, "self")]
        if shown["status"] != "RESOLVED":
            links += [
                _link(f"{path}/provide-evidence", "provide_evidence", "POST"),
                _link(f"{path}/accept-claim", "accept_claim", "POST"),
            ]
        shown["links"] = links
        return shown


# customer_disputes_v1.json's `evidence.evidence_type` values (the ones a seller sends).
EVIDENCE_TYPES = frozenset(
    {"PROOF_OF_FULFILLMENT", "PROOF_OF_REFUND", "PROOF_OF_DELIVERY_SIGNATURE", "ITEM_DESCRIPTION"}
    | {"PROOF_OF_RECEIPT_COPY", "RETURN_POLICY", "ORDER_DETAILS", "OTHER"}
)


def _millis(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
