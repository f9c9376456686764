"""Customer and saved-method mutations: parse input, call one service, shape the payload."""

import strawberry

from graph.context import Info
from graph.customers.types import Customer, PaymentMethod
from graph.payload import PaymentError, payload_errors
from payments.customers import methods
from payments.customers import service as customers
from payments.customers.methods import MethodInput
from payments.customers.rules import CustomerInput
from payments.shared.errors import PaymentsError


@strawberry.input
class CreateCustomerInput:
    email: str
    name: str | None = None
    customer_id: str | None = None


@strawberry.input
class UpdateCustomerInput:
    customer_id: str | None = None
    email: str | None = None
    name: str | None = None


@strawberry.input
class CreateSetupIntentInput:
    customer_id: str | None = None


@strawberry.input
class AttachPaymentMethodInput:
    customer_id: str | None = None
    payment_method_id: str
    set_as_default: bool | None = False


@strawberry.input
class SetDefaultPaymentMethodInput:
    customer_id: str | None = None
    payment_method_id: strawberry.ID


@strawberry.input
class DetachPaymentMethodInput:
    customer_id: str | None = None
    payment_method_id: strawberry.ID


@strawberry.type
class CustomerPayload:
    customer: Customer | None = None
    errors: list[PaymentError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateSetupIntentPayload:
    client_secret: str | None = None
    errors: list[PaymentError] = strawberry.field(default_factory=list)


@strawberry.type
class PaymentMethodPayload:
    payment_method: PaymentMethod | None = None
    customer: Customer | None = None
    errors: list[PaymentError] = strawberry.field(default_factory=list)


def _method_input(input: SetDefaultPaymentMethodInput | DetachPaymentMethodInput) -> MethodInput:
    return MethodInput(
        customer_id=input.customer_id, payment_method_id=str(input.payment_method_id)
    )


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(description="Create the caller's (or, for admins, any) customer.")
    async def create_customer(
        self, info: Info, input: CreateCustomerInput, idempotency_key: str
    ) -> CustomerPayload:
        command = CustomerInput(input.customer_id or "", input.email, input.name)
        principal = await info.context.principal()
        try:
            customer = await customers.create_customer(
                principal, command, idempotency_key, info.context.runtime.services
            )
        except PaymentsError as error:
            return CustomerPayload(errors=payload_errors(error))
        return CustomerPayload(customer=Customer.from_model(customer))

    @strawberry.mutation(description="Change a customer's email or name.")
    async def update_customer(self, info: Info, input: UpdateCustomerInput) -> CustomerPayload:
        command = CustomerInput(input.customer_id or "", input.email, input.name)
        principal = await info.context.principal()
        try:
            customer = await customers.update_customer(principal, command)
        except PaymentsError as error:
            return CustomerPayload(errors=payload_errors(error))
        return CustomerPayload(customer=Customer.from_model(customer))

    @strawberry.mutation(
        description="A SetupIntent's client secret, to save a card with Stripe.js."
    )
    async def create_setup_intent(
        self, info: Info, input: CreateSetupIntentInput, idempotency_key: str
    ) -> CreateSetupIntentPayload:
        principal = await info.context.principal()
        try:
            secret = await methods.create_setup_intent(
                principal, input.customer_id, idempotency_key, info.context.runtime.services
            )
        except PaymentsError as error:
            return CreateSetupIntentPayload(errors=payload_errors(error))
        return CreateSetupIntentPayload(client_secret=secret)

    @strawberry.mutation(
        description="Save a payment method for the customer; the first is default."
    )
    async def attach_payment_method(
        self, info: Info, input: AttachPaymentMethodInput, idempotency_key: str
    ) -> PaymentMethodPayload:
        command = MethodInput(
            input.customer_id, input.payment_method_id, bool(input.set_as_default)
        )
        principal = await info.context.principal()
        try:
            method, customer = await methods.attach(
                principal, command, idempotency_key, info.context.runtime.services
            )
        except PaymentsError as error:
            return PaymentMethodPayload(errors=payload_errors(error))
        return PaymentMethodPayload(
            payment_method=PaymentMethod.from_model(method) if method else None,
            customer=Customer.from_model(customer),
        )

    @strawberry.mutation(description="Make one of the customer's saved methods the default.")
    async def set_default_payment_method(
        self, info: Info, input: SetDefaultPaymentMethodInput
    ) -> CustomerPayload:
        principal = await info.context.principal()
        try:
            customer = await methods.set_default(
                principal, _method_input(input), info.context.runtime.services
            )
        except PaymentsError as error:
            return CustomerPayload(errors=payload_errors(error))
        return CustomerPayload(customer=Customer.from_model(customer))

    @strawberry.mutation(description="Detach a saved method; the newest left becomes default.")
    async def detach_payment_method(
        self, info: Info, input: DetachPaymentMethodInput
    ) -> CustomerPayload:
        principal = await info.context.principal()
        try:
            customer = await methods.detach(
                principal, _method_input(input), info.context.runtime.services
            )
        except PaymentsError as error:
            return CustomerPayload(errors=payload_errors(error))
        return CustomerPayload(customer=Customer.from_model(customer))
