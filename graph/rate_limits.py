"""Charges each root field of an operation to the caller's rate-limit budgets, before execution."""

from collections.abc import AsyncIterator

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension

from graph.limits import selected_root_fields
from payments.shared.errors import RateLimited, Unauthenticated


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
        document = self.execution_context.graphql_document
        for field in selected_root_fields(document, self.execution_context.operation_name):
            if not field.startswith("__"):
                await context.runtime.rate_limiter.check(principal.sub, field)
