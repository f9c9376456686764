"""Builds the Strawberry schema with its protective extensions."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from graph.bank_transfers.mutations import BankTransferMutations
from graph.cancellations.mutations import CancellationMutations
from graph.captures.mutations import CaptureMutations
from graph.charges.mutations import ChargeMutations
from graph.customers.mutations import CustomerMutations
from graph.customers.queries import CustomerQueries
from graph.customers.types import Customer, PaymentMethod
from graph.disputes.mutations import DisputeMutations
from graph.disputes.queries import DisputeQueries
from graph.disputes.types import Dispute
from graph.endpoints.mutations import EndpointMutations
from graph.endpoints.queries import EndpointQueries
from graph.error_shaping import shape_errors
from graph.intents.mutations import IntentMutations
from graph.live.subscriptions import LiveSubscriptions
from graph.operations.mutations import OperationsMutations
from graph.operations.queries import OperationsQueries
from graph.payments.queries import PaymentQueries
from graph.payments.types import Payment
from graph.protection.limits import DocumentLimits
from graph.protection.operation_gate import OperationGate
from graph.refunds.mutations import RefundMutations
from graph.refunds.types import Refund
from graph.scalars import DATETIME_SCALAR, LONG_SCALAR, Long
from graph.statistics.queries import StatisticsQueries

# Each domain folder contributes its root fields; adding a domain adds it to these tuples.
Query = merge_types(
    "Query",
    (
        PaymentQueries,
        CustomerQueries,
        StatisticsQueries,
        OperationsQueries,
        DisputeQueries,
        EndpointQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        ChargeMutations,
        RefundMutations,
        IntentMutations,
        CaptureMutations,
        CancellationMutations,
        CustomerMutations,
        OperationsMutations,
        DisputeMutations,
        BankTransferMutations,
        EndpointMutations,
    ),
)
Subscription = merge_types("Subscription", (LiveSubscriptions,))


class SubscriptionNeedsWebSocket(InvalidOperationTypeError):
    """A subscription sent where one result is answered: HTTP GET or POST."""

    def __init__(self) -> None:
        super().__init__(OperationType.SUBSCRIPTION)

    def as_http_error_reason(self, method: str) -> str:
        return (
            f"Subscriptions are not served over HTTP {method}: open a WebSocket to this URL "
            "with the graphql-transport-ws protocol and subscribe there."
        )


class PaymentsSchema(strawberry.Schema):
    """Strawberry's schema whose errors are logged by us and shaped for clients.

    Replaces Strawberry's own logging, which writes every client mistake with a traceback.
    """

    def __init__(self, *args: Any, hide_suggestions: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hide_suggestions = hide_suggestions

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        shape_errors(errors, hide_suggestions=self.hide_suggestions)

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """One operation, one result: a subscription (a stream) is refused before it runs.

        Strawberry's HTTP view allows subscriptions on GET and POST for its multipart
        transport, which is off here; executed as one result, a subscription fails with a
        TypeError. The view answers the refusal 400 with SubscriptionNeedsWebSocket's text.
        """
        allowed = (
            {OperationType.QUERY, OperationType.MUTATION}
            if allowed_operation_types is None
            else set(allowed_operation_types) - {OperationType.SUBSCRIPTION}
        )
        try:
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed,
                operation_extensions,
            )
        except InvalidOperationTypeError as refused:
            if refused.operation_type is OperationType.SUBSCRIPTION:
                raise SubscriptionNeedsWebSocket from refused
            raise


def build_schema(
    limits: DocumentLimits | None = None, *, hide_suggestions: bool = False
) -> strawberry.Schema:
    """The schema; a document cache makes repeated documents cheap."""
    limits = limits or DocumentLimits()
    return PaymentsSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Payment, Refund, Customer, PaymentMethod, Dispute],
        extensions=[
            OperationGate,
            *limits.extensions(),
        ],
        config=StrawberryConfig(
            auto_camel_case=True, scalar_map={Long: LONG_SCALAR, datetime: DATETIME_SCALAR}
        ),
        hide_suggestions=hide_suggestions,
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
