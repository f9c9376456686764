"""Charges each root field of an operation to the caller's rate-limit budgets, before execution."""

from typing import Any

from graphql import GraphQLError

from graph.limits import CHARGING_MUTATIONS
from payments.shared.errors import RateLimited, Unauthenticated


async def refusal(context: Any, root_fields: list[str]) -> GraphQLError | None:
    """Spend a unit of the caller's budget per root field; the error if one is spent out.

    Every root field costs one unit, so aliases cannot stretch a budget; a charging
    mutation also spends the tighter charge budget. Checked before execution (not in a
    per-field hook, which would slow every field), so a refused operation runs no
    resolver at all.
    """
    try:
        principal = await context.principal()
    except Unauthenticated:
        return None  # the resolvers answer UNAUTHENTICATED themselves
    try:
        for field in root_fields:
            if not field.startswith("__"):
                moves_money = field in CHARGING_MUTATIONS
                await context.runtime.rate_limiter.check(principal.sub, moves_money=moves_money)
    except RateLimited as refused:
        return GraphQLError(refused.message, original_error=refused)
    return None
