"""Errors as payload data: the PaymentError type and which domain errors become one."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from graph.context import Info
from graph.enums import PaymentErrorCode
from graph.payments.types import Payment
from models import payment as stored
from payments.service_config import ServiceConfig
from payments.shared.auth import Principal
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


Answer = TypeVar("Answer", bound=PaymentPayload)
# One service call for the caller: (principal, the services' config) -> the payment.
PaymentService = Callable[[Principal, ServiceConfig], Awaitable[stored.Payment]]


async def payment_answer(info: Info, payload: type[Answer], service: PaymentService) -> Answer:
    """Run one payment service for the caller; its expected errors become the payload's."""
    principal = await info.context.principal()
    try:
        payment = await service(principal, info.context.runtime.services)
    except PaymentsError as error:
        return payload(errors=payload_errors(error))
    return payload(payment=Payment.from_model(payment))
