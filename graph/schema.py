"""Builds the Strawberry schema with its protective extensions."""

from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from graph.cancellations.mutations import CancellationMutations
from graph.captures.mutations import CaptureMutations
from graph.charges.mutations import ChargeMutations
from graph.customers.mutations import CustomerMutations
from graph.customers.queries import CustomerQueries
from graph.customers.types import Customer, PaymentMethod
from graph.errors import shape_errors
from graph.intents.mutations import IntentMutations
from graph.limits import DocumentLimits
from graph.live.subscriptions import LiveSubscriptions
from graph.operation_gate import OperationGate
from graph.operations.mutations import OperationsMutations
from graph.operations.queries import OperationsQueries
from graph.payments.queries import PaymentQueries
from graph.payments.types import Payment
from graph.refunds.mutations import RefundMutations
from graph.refunds.types import Refund
from graph.scalars import DATETIME_SCALAR, LONG_SCALAR, Long
from graph.statistics.queries import StatisticsQueries

# Each domain folder contributes its root fields; adding a domain adds it to these tuples.
Query = merge_types(
    "Query", (PaymentQueries, CustomerQueries, StatisticsQueries, OperationsQueries)
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
    ),
)
Subscription = merge_types("Subscription", (LiveSubscriptions,))


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


def build_schema(
    limits: DocumentLimits | None = None, *, hide_suggestions: bool = False
) -> strawberry.Schema:
    """The schema; a document cache makes repeated documents cheap."""
    limits = limits or DocumentLimits()
    return PaymentsSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Payment, Refund, Customer, PaymentMethod],
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
