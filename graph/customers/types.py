"""The Customer, PaymentMethod and Card types."""

from datetime import datetime

import strawberry

from graph.connections import Node
from graph.context import Info
from graph.payments.types import PaymentConnection
from models import customer as stored
from payments.customers import service as customers
from payments.reads import service as reads


@strawberry.type
class Card:
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@strawberry.type
class PaymentMethod(Node):
    type: str
    card: Card | None
    is_default: bool
    created_at: datetime

    @classmethod
    def from_model(cls, method: stored.PaymentMethod) -> "PaymentMethod":
        return cls(
            id=strawberry.ID(method.id),
            type=method.type,
            card=_card(method),
            is_default=method.is_default,
            created_at=method.created_at,
        )


def _card(method: stored.PaymentMethod) -> Card | None:
    # Only cards have brand, last4 and expiry; other types have no card at all.
    brand, last4 = method.card_brand, method.card_last4
    month, year = method.card_exp_month, method.card_exp_year
    if brand is None or last4 is None or month is None or year is None:
        return None
    return Card(brand=brand, last4=last4, exp_month=month, exp_year=year)


@strawberry.type
class Customer(Node):
    email: str
    name: str | None
    created_at: datetime

    @strawberry.field(description="Saved payment methods, most recently attached first.")
    async def payment_methods(self) -> list[PaymentMethod]:
        rows = await customers.payment_methods(str(self.id))
        return [PaymentMethod.from_model(row) for row in rows]

    @strawberry.field
    async def default_payment_method(self) -> PaymentMethod | None:
        rows = await customers.payment_methods(str(self.id))
        return next((PaymentMethod.from_model(r) for r in rows if r.is_default), None)

    @strawberry.field(description="The customer's payments, newest first.")
    async def payments(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> PaymentConnection:
        principal = await info.context.principal()
        only_theirs = reads.PaymentFilter(customer_id=str(self.id))
        page = await reads.list_payments(
            principal, 20 if first is None else first, after, only_theirs
        )
        return PaymentConnection.from_page(page)

    @classmethod
    def from_model(cls, customer: stored.Customer) -> "Customer":
        return cls(
            id=strawberry.ID(customer.id),
            email=customer.email,
            name=customer.name,
            created_at=customer.created_at,
        )
