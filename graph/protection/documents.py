"""Each distinct GraphQL document parsed and validated once, for HTTP and WebSocket alike."""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

# Bounded, so unique texts sent to a public endpoint cannot grow memory without limit.
CACHED_DOCUMENTS = 128


@dataclass(frozen=True)
class Prepared:
    """A parsed document and what validating it found (nothing, when it is valid)."""

    document: DocumentNode
    errors: list[GraphQLError]


class DocumentCache:
    """Parsed documents and their validation errors by document text, shared by all requests.

    Keyed by the text, whose hash Python keeps: graphql-core's nodes are dataclasses that
    hash their whole tree on every lookup, which is what a cache keyed by the parsed
    document (Strawberry's ValidationCache) pays on each request.
    """

    def __init__(self, rules: tuple[type[ASTValidationRule], ...], max_tokens: int) -> None:
        self.rules = rules
        self.max_tokens = max_tokens
        self.prepared = lru_cache(maxsize=CACHED_DOCUMENTS)(self._prepare)

    def _prepare(self, text: str, schema: GraphQLSchema) -> Prepared:
        # A syntax error or too many tokens raises, so it is never cached.
        document = parse(text, max_tokens=self.max_tokens)
        return Prepared(document, validate_document(schema, document, self.rules))


class CachedDocuments(SchemaExtension):
    """Parsing and validation from a DocumentCache, for what Strawberry runs (streams).

    One extension in place of Strawberry's ParserCache, ValidationCache, MaxTokensLimiter
    and AddValidationRules: Strawberry builds every extension's hooks anew per request.
    An HTTP operation reads the cache directly (PaymentsSchema.execute).
    """

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        assert context.query is not None  # Strawberry refuses a request without one first
        self.prepared = self.cache.prepared(context.query, context.schema._schema)
        context.graphql_document = self.prepared.document
        yield

    def on_validate(self) -> Iterator[None]:
        # Shared by every request with this text: graph/error_shaping.py shapes them in place, and
        # the same way each time, as it did Strawberry's cached validation errors.
        self.execution_context.pre_execution_errors = list(self.prepared.errors)
        yield
