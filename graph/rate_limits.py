"""Charges each root field of an operation to the caller's rate-limit budgets, before execution."""

from collections.abc import AsyncIterator

from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

from graph.limits import fragments_of, root_fields
from payments.errors import RateLimited, Unauthenticated


class RateLimits(SchemaExtension):
    """Every root field costs one unit, so aliases cannot stretch a budget.

    Checked before execution (not in a per-field hook, which would slow every field);
    a refused operation runs no resolver at all.
    """

    async def on_execute(self) -> AsyncIterator[None]:
        try:
            await self._spend()
        except RateLimited as refused:
            error = GraphQLError(refused.message, original_error=refused)
            self.execution_context.result = ExecutionResult(data=None, errors=[error])
        yield

    async def _spend(self) -> None:
        context = self.execution_context.context
        try:
            principal = await context.principal()
        except Unauthenticated:
            return  # the resolvers answer UNAUTHENTICATED themselves
        for field in self._root_fields():
            await context.runtime.rate_limiter.check(principal.sub, field)

    def _root_fields(self) -> list[str]:
        document = self.execution_context.graphql_document
        if document is None:
            return []
        wanted = self.execution_context.operation_name
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode) and (
                wanted is None or (definition.name and definition.name.value == wanted)
            ):
                names = root_fields(definition.selection_set, fragments_of(document))
                return [name for name in names if not name.startswith("__")]
        return []
