"""Reads of disputes: one visible to a principal, the admin list, and those of many payments."""

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from models.dispute import Dispute
from models.enums import DisputeStatus
from models.ids import ID_LENGTH
from models.payment import Payment
from payments.disputes import repository
from payments.shared.auth import Principal, Scope
from payments.shared.errors import ValidationFailed
from payments.shared.input_rules import could_be_id

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class DisputePage:
    disputes: list[Dispute]
    has_next_page: bool


async def get_dispute(principal: Principal, dispute_id: str) -> Dispute | None:
    """The dispute if its payment is visible to the principal; otherwise None."""
    principal.require(Scope.READ)
    if not could_be_id(dispute_id, ID_LENGTH):
        return None
    dispute = await repository.get(dispute_id)
    if dispute is None:
        return None
    if dispute.payment_id is None:  # kept without a payment: only admins see it
        return dispute if principal.is_admin else None
    payment = await Payment.get(id=dispute.payment_id)
    return dispute if principal.may_see(payment.customer_id) else None


async def list_disputes(
    principal: Principal, first: int, after: str | None, statuses: Sequence[DisputeStatus]
) -> DisputePage:
    """A page of every dispute (admins only), newest first, with keyset pagination."""
    principal.require(Scope.READ, Scope.ADMIN)
    if not 0 < first <= MAX_PAGE_SIZE:
        raise ValidationFailed(f"first must be between 1 and {MAX_PAGE_SIZE}.", field="first")
    before = decode_cursor(after) if after else None
    rows = await repository.page(statuses, before, first + 1)
    return DisputePage(disputes=rows[:first], has_next_page=len(rows) > first)


async def disputes_by_payment(payment_ids: Sequence[str]) -> list[list[Dispute]]:
    """Disputes of many payments (already visible to the caller), in one query."""
    return await repository.by_payments(payment_ids)


def encode_cursor(dispute_id: str) -> str:
    return base64.urlsafe_b64encode(f"dispute:{dispute_id}".encode()).decode()


def decode_cursor(cursor: str) -> str:
    """The dispute id inside an opaque cursor; ValidationFailed when it is not one of ours."""
    try:
        kind, _, dispute_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        kind, dispute_id = "", ""
    if kind != "dispute" or not could_be_id(dispute_id, ID_LENGTH):
        raise ValidationFailed("Invalid pagination cursor.", field="after")
    return dispute_id
