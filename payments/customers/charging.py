"""What a charge sends to the gateway when it names a customer's saved or default method."""

from dataclasses import dataclass

from models.idempotency import IdempotencyKey
from payments.customers.repository import default_method_ids, find_customer, saved_method_ids
from payments.idempotency.keys import store_error
from payments.shared.errors import (
    CustomerNotFound,
    NoDefaultPaymentMethod,
    PaymentMethodNotFound,
    PaymentsError,
)

# Saved methods are ours when their id starts so; any other id is the gateway's own.
SAVED_PREFIX = "cpm_"


@dataclass(frozen=True)
class ChargeTarget:
    """The gateway's payment method id and, for a saved one, its gateway customer."""

    payment_method_id: str
    provider_customer_id: str | None = None


async def charge_target(
    key: IdempotencyKey, customer_id: str, payment_method_id: str | None
) -> ChargeTarget:
    """The method a charge sends: the default, a saved one (our id or the gateway's), or as given.

    An error (CustomerNotFound, NoDefaultPaymentMethod, PaymentMethodNotFound) is stored
    on the charge's key, so a retry with it gets the same answer.
    """
    try:
        return await _target(customer_id, payment_method_id)
    except PaymentsError as error:
        await store_error(key, error)


async def _target(customer_id: str, payment_method_id: str | None) -> ChargeTarget:
    if payment_method_id is None:
        rows = await default_method_ids(customer_id)
        if not rows and await find_customer(customer_id) is None:
            raise CustomerNotFound()
        if not rows:
            raise NoDefaultPaymentMethod()
    else:
        rows = await saved_method_ids(customer_id, payment_method_id)
        if not rows and payment_method_id.startswith(SAVED_PREFIX):
            raise PaymentMethodNotFound()
        if not rows:
            return ChargeTarget(payment_method_id)
    return ChargeTarget(rows[0]["provider_payment_method_id"], rows[0]["provider_customer_id"])
