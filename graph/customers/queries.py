"""customer, customerByEmail and me: call one customer read, shape the answer."""

import strawberry

from graph.context import Info
from graph.customers.types import Customer
from models import customer as stored
from payments.customers import service as customers


def _shaped(customer: stored.Customer | None) -> Customer | None:
    return Customer.from_model(customer) if customer else None


@strawberry.type
class CustomerQueries:
    @strawberry.field(description="A customer visible to the caller, or null.")
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        principal = await info.context.principal()
        return _shaped(await customers.get_customer(principal, str(id)))

    @strawberry.field(description="Admins only: the customer with this email (any case).")
    async def customer_by_email(self, info: Info, email: str) -> Customer | None:
        principal = await info.context.principal()
        return _shaped(await customers.find_by_email(principal, email))

    @strawberry.field(description="The caller's own customer, or null before it is created.")
    async def me(self, info: Info) -> Customer | None:
        principal = await info.context.principal()
        return _shaped(await customers.get_customer(principal, principal.sub))
