"""Document limits (OWASP GraphQL): depth, tokens, aliases, one money mutation per document."""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)

MONEY_MUTATIONS = frozenset({"chargePayment", "refundPayment"})


@dataclass(frozen=True)
class DocumentLimits:
    max_depth: int = 10
    max_tokens: int = 1000
    max_aliases: int = 15
    introspection: bool = True

    def extensions(self) -> list[Any]:
        """Extension factories (Strawberry wants classes or factories, never instances)."""
        factories: list[Any] = [
            partial(QueryDepthLimiter, max_depth=self.max_depth),
            partial(MaxTokensLimiter, max_token_count=self.max_tokens),
            partial(MaxAliasesLimiter, max_alias_count=self.max_aliases),
            partial(AddValidationRules, [OneMoneyMutation]),
        ]
        return factories if self.introspection else [*factories, DisableIntrospection]


class OneMoneyMutation(ValidationRule):
    """At most one chargePayment/refundPayment per document, aliases and fragments included.

    One money movement per request keeps idempotency keys, rate limits and error
    reporting one-to-one with what the client asked for.
    """

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if node.operation is not OperationType.MUTATION:
            return
        count = sum(
            1 for name in _root_fields(node.selection_set, self.context) if name in MONEY_MUTATIONS
        )
        if count > 1:
            self.report_error(GraphQLError("At most one money-moving mutation per document.", node))


def _root_fields(
    selections: SelectionSetNode, context: ValidationContext, seen: frozenset[str] = frozenset()
) -> Iterator[str]:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, context, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            # `seen` stops circular fragments (reported by graphql-core's own rule).
            fragment = context.get_fragment(selection.name.value)
            if fragment is not None:
                inner = seen | {selection.name.value}
                yield from _root_fields(fragment.selection_set, context, inner)
