"""Builds the Strawberry schema with its protective extensions."""

from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import Any

import strawberry
from graphql import DocumentNode, GraphQLError, execute
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.name_converter import NameConverter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe
from strawberry.utils.operation import get_first_operation, get_operation_type

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
from graph.execution import reading_plain_fields
from graph.intents.mutations import IntentMutations
from graph.live.subscriptions import LiveSubscriptions
from graph.operations.mutations import OperationsMutations
from graph.operations.queries import OperationsQueries
from graph.payments.queries import PaymentQueries
from graph.payments.types import Payment
from graph.protection.documents import CachedDocuments, DocumentCache
from graph.protection.limits import DocumentLimits
from graph.protection.operation_gate import GatedOperation, OperationGate
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


class RememberedNames(NameConverter):
    """Strawberry's camelCase names, each worked out once.

    Strawberry converts every argument's name again on each call (issue 31: ~1% of a
    payment(id)); the names are the schema's own, so the memo stays as small as it.
    """

    def __init__(self) -> None:
        super().__init__(auto_camel_case=True)
        self.names: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        converted = self.names.get(name)
        if converted is None:
            converted = self.names[name] = super().apply_naming_config(name)
        return converted


class PaymentsSchema(strawberry.Schema):
    """Strawberry's schema whose errors are logged by us and shaped for clients.

    Replaces Strawberry's own logging, which writes every client mistake with a traceback.
    """

    def __init__(
        self, *args: Any, documents: DocumentCache, hide_suggestions: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.execution_context_class = reading_plain_fields(self._schema)
        self.documents = documents
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
        """One operation, one result, as Strawberry answers it, without its extension runner.

        Strawberry builds and runs every extension's hooks per request: about 12% of a
        payment(id)'s CPU (issue 31). One result needs only what the document cache and
        the operation gate do, called here in the order Strawberry calls them, with the
        same errors raised (a missing query, an operation that is not there or of a type
        not allowed) or answered. Streams (WebSocket) still run through the extensions.

        A subscription, which Strawberry's HTTP view allows for its multipart transport
        (off here), is refused: the view answers 400 with SubscriptionNeedsWebSocket's text.
        """
        allowed = (
            {OperationType.QUERY, OperationType.MUTATION}
            if allowed_operation_types is None
            else set(allowed_operation_types) - {OperationType.SUBSCRIPTION}
        )
        if not query:
            raise MissingQueryError
        gate = GatedOperation()
        try:
            prepared = self.documents.prepared(query, self._schema)
        except Exception as error:  # Strawberry answers any parse failure as an error
            result = self._refused(_as_graphql_error(error))
        else:
            name = (
                _first_operation_name(prepared.document)
                if operation_name is None
                else operation_name
            )
            _check_operation_type(prepared.document, name, allowed)
            if prepared.errors:
                result = self._refused(*prepared.errors)
            else:
                result = await self._execute_admitted(
                    gate, prepared.document, variable_values, context_value, root_value, name
                )
        gate.record(failed=bool(result.errors))
        return result

    async def _execute_admitted(
        self,
        gate: GatedOperation,
        document: DocumentNode,
        variable_values: dict[str, Any] | None,
        context_value: Any,
        root_value: Any,
        operation_name: str | None,
    ) -> ExecutionResult:
        try:
            refused = await gate.admit(context_value, document, operation_name)
            if refused is not None:
                return self._refused(refused, before_execution=False)
            outcome = await await_maybe(
                execute(
                    self._schema,
                    document,
                    root_value=root_value,
                    context_value=context_value,
                    variable_values=variable_values,
                    operation_name=operation_name,
                    is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                    executor_class=self.execution_context_class,
                )
            )
        except Exception as error:  # as Strawberry does: answered, not raised
            return self._refused(_as_graphql_error(error))
        if outcome.errors:
            self.process_errors(outcome.errors)
        return ExecutionResult(data=outcome.data, errors=outcome.errors)

    def _refused(self, *errors: GraphQLError, before_execution: bool = True) -> ExecutionResult:
        shown = list(errors)
        self.process_errors(shown)
        if before_execution:
            return PreExecutionError(data=None, errors=shown)
        return ExecutionResult(data=None, errors=shown)


def _as_graphql_error(error: Exception) -> GraphQLError:
    if isinstance(error, GraphQLError):
        return error
    return GraphQLError(str(error), original_error=error)


def _first_operation_name(document: DocumentNode) -> str | None:
    # Strawberry runs the first operation when no name is given, by its name if it has one.
    first = get_first_operation(document)
    return first.name.value if first is not None and first.name is not None else None


def _check_operation_type(
    document: DocumentNode, operation_name: str | None, allowed: set[OperationType]
) -> None:
    try:
        operation_type = get_operation_type(document, operation_name)
    except RuntimeError as missing:
        raise CannotGetOperationTypeError(operation_name) from missing
    if operation_type is OperationType.SUBSCRIPTION:
        raise SubscriptionNeedsWebSocket
    if operation_type not in allowed:
        raise InvalidOperationTypeError(operation_type)


def build_schema(
    limits: DocumentLimits | None = None, *, hide_suggestions: bool = False
) -> strawberry.Schema:
    """The schema; a document cache makes repeated documents cheap."""
    documents = (limits or DocumentLimits()).document_cache()
    return PaymentsSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Payment, Refund, Customer, PaymentMethod, Dispute],
        extensions=[OperationGate, partial(CachedDocuments, documents)],
        config=StrawberryConfig(
            name_converter=RememberedNames(),
            scalar_map={Long: LONG_SCALAR, datetime: DATETIME_SCALAR},
        ),
        documents=documents,
        hide_suggestions=hide_suggestions,
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
