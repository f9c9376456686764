"""Charges each root field of an operation to the caller's rate-limit budgets."""

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import GraphQLResolveInfo
from strawberry.extensions import SchemaExtension

from payments.errors import Unauthenticated


class RateLimits(SchemaExtension):
    """Every root field costs one unit, so aliases cannot stretch a budget."""

    async def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if info.path.prev is None and not info.field_name.startswith("__"):
            await _spend(info)
        result = _next(root, info, *args, **kwargs)
        return await result if isinstance(result, Awaitable) else result


async def _spend(info: GraphQLResolveInfo[Any]) -> None:
    context = info.context
    try:
        principal = await context.principal()
    except Unauthenticated:
        return  # the resolver itself answers UNAUTHENTICATED
    await context.runtime.rate_limiter.check(principal.sub, info.field_name)
