"""Errors as payload data: the PaymentError type and which domain errors become one."""

import strawberry

from graph.enums import PaymentErrorCode
from graph.payments.types import Payment
from payments.shared.errors import PaymentErrors, PaymentsError

_PAYLOAD_CODES = {code.value for code in PaymentErrorCode}


@strawberry.type
class PaymentError:
    code: PaymentErrorCode
    message: str
    field: str | None = None

    @classmethod
    def from_error(cls, error: PaymentsError) -> "PaymentError":
        return cls(code=PaymentErrorCode(error.code), message=error.message, field=error.field)


@strawberry.type
class PaymentPayload:
    """The answer of a mutation on one payment: the payment as it is now, or errors."""

    payment: Payment | None = None
    errors: list[PaymentError] = strawberry.field(default_factory=list)


def payload_errors(error: PaymentsError) -> list[PaymentError]:
    """Input and business errors become payload data; auth and limits stay GraphQL errors."""
    errors = error.errors if isinstance(error, PaymentErrors) else [error]
    if not all(e.code in _PAYLOAD_CODES for e in errors):
        raise error
    return [PaymentError.from_error(e) for e in errors]
