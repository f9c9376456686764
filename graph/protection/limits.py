"""Document limits (OWASP GraphQL): depth, tokens, aliases, one money mutation per document."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
)
from graphql.validation import NoSchemaIntrospectionCustomRule, specified_rules
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from graph.protection.documents import DocumentCache

# Mutations that can take a customer's money: card testers' tools, so each one spends
# the caller's RATE_LIMIT_CHARGE budget; fundBankTransfer moves money too.
CHARGING_MUTATIONS = frozenset(
    {
        "chargePayment",
        "confirmPayment",
        "capturePayment",
        "createPaymentIntent",
        "fundBankTransfer",
    }
)
# A document holds at most one of these: the charging mutations and refunds.
MONEY_MUTATIONS = CHARGING_MUTATIONS | {"refundPayment"}


@dataclass(frozen=True)
class DocumentLimits:
    max_depth: int = 10
    max_tokens: int = 1000
    max_aliases: int = 15
    introspection: bool = True

    def document_cache(self) -> DocumentCache:
        """Documents parsed and validated against these limits, once per distinct text.

        The depth and alias limiters build a new rule class per instance; their rules are
        built once here, beside the token limit, and checked once per distinct document.
        """
        rules = [
            *specified_rules,
            *QueryDepthLimiter(max_depth=self.max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=self.max_aliases).validation_rules,
            OneMoneyMutation,
        ]
        if not self.introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        return DocumentCache(tuple(rules), self.max_tokens)


class OneMoneyMutation(ValidationRule):
    """At most one money mutation per document, aliases and fragments included.

    One money movement per request keeps idempotency keys, rate limits and error
    reporting one-to-one with what the client asked for.
    """

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if node.operation is not OperationType.MUTATION:
            return
        names = root_fields(node.selection_set, fragments_of(self.context.document))
        count = sum(1 for name in names if name in MONEY_MUTATIONS)
        if count > 1:
            self.report_error(GraphQLError("At most one money-moving mutation per document.", node))


def root_fields(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> Iterator[str]:
    """Names of the root fields an operation selects, through fragments, once per alias."""
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            # `seen` stops circular fragments (reported by graphql-core's own rule).
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                inner = seen | {selection.name.value}
                yield from root_fields(fragment.selection_set, fragments, inner)


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def selected_root_fields(document: DocumentNode | None, operation_name: str | None) -> list[str]:
    """Root field names of the operation that runs, once per alias, through fragments."""
    if document is None:
        return []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None
            or (definition.name is not None and definition.name.value == operation_name)
        ):
            return list(root_fields(definition.selection_set, fragments_of(document)))
    return []
