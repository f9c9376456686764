"""Input rules of customers: who a request may name, emails, names and method ids."""

import re
from dataclasses import dataclass

from payments.shared.auth import Principal
from payments.shared.errors import CustomerNotFound, PaymentErrors, PaymentsError, ValidationFailed
from payments.shared.input_rules import check_identifier, check_text, collect, reject_sensitive

# RFC 5321's limits: 254 characters in all, 64 before the @.
MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
MAX_NAME_LENGTH = 255
# One @, no spaces, a dotted domain: what can receive mail, not the full RFC 5322 grammar.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


@dataclass(frozen=True)
class CustomerInput:
    customer_id: str
    email: str | None = None
    name: str | None = None


def owner_of(principal: Principal, customer_id: str | None) -> str:
    """The customer a request acts on: its own, or for admins the one it names.

    A non-admin naming another customer gets CustomerNotFound, never "forbidden".
    """
    if not customer_id or customer_id == principal.sub or principal.is_admin:
        return customer_id or principal.sub
    raise CustomerNotFound()


def validate_customer(command: CustomerInput) -> CustomerInput:
    """The input as given, or PaymentErrors listing every invalid field (nothing written)."""
    errors: list[PaymentsError] = []
    collect(errors, lambda: check_identifier(command.customer_id, "customerId"))
    if command.email is not None:
        collect(errors, lambda: check_email(command.email or ""))
    if command.name is not None:
        collect(errors, lambda: check_name(command.name or ""))
    if errors:
        raise PaymentErrors(errors)
    return command


def check_email(value: str) -> None:
    """A deliverable-looking address of at most 254 characters, or ValidationFailed."""
    check_text(value, "email", MAX_EMAIL_LENGTH)
    local, _, _ = value.partition("@")
    if not _EMAIL.fullmatch(value) or len(local) > MAX_LOCAL_PART_LENGTH:
        raise ValidationFailed("email must be an address such as jenny@example.com.", field="email")


def check_name(value: str) -> None:
    """Storable text of at most 255 characters holding no card number or secret."""
    check_text(value, "name", MAX_NAME_LENGTH)
    reject_sensitive(value, "name")


def check_method_id(value: str) -> None:
    """A gateway payment method id to attach: 1 to 255 characters, no card number."""
    check_identifier(value, "paymentMethodId")
