"""The executor: Strawberry's, with plain scalar and enum fields read without a resolve info.

graphql-core builds a resolve info, looks for arguments and completes through its generic
path for every field; a page of 20 payments has over a hundred fields, most of them a
plain attribute (`id`, `status`, `amount`) whose resolver ignores the info anyway
(issue 31: execution was about half of a page's CPU). Those are read and coerced here
directly. Anything unusual (a null, an error) goes back through graphql-core's path, which
answers it as always: the short path never writes an error itself. Every other field takes
that path too.
"""

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


@dataclass(frozen=True, slots=True)
class _PlainLeaf:
    """A field whose resolver only reads an attribute, of a scalar or enum type."""

    read: Any  # Strawberry's default resolver: (source, info) -> the attribute
    leaf: GraphQLLeafType
    non_null: bool
    # An enum's members and their GraphQL names: Strawberry finds a name by a scan of them.
    enum_class: type | None = None
    enum_names: dict[Any, str] | None = None


# What `_plain_value` answers for a value graphql-core's own path must complete.
_GENERAL = object()


class PaymentsExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor (resolvers get its info) with a short path for plain leaves."""

    # (object type name, field name) -> how to read it; filled by `reading_plain_leaves`.
    plain_leaves: dict[tuple[str, str], _PlainLeaf] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        wrapped = self.middleware_manager is not None and self.middleware_manager.middlewares
        # Middleware wraps every resolver: then every field takes graphql-core's path.
        self._leaves = {} if wrapped else self.plain_leaves

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        plain = self._leaves.get((parent_type.name, field_details_list[0].node.name.value))
        if plain is not None:
            value = self._plain_value(plain, source)
            if value is not _GENERAL:
                return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _plain_value(self, plain: _PlainLeaf, source: Any) -> Any:
        """The field's answer, or _GENERAL when graphql-core must answer it (a null, an error).

        graphql-core's path reads the attribute again and raises or answers as it always
        does: the short path never writes an error itself.
        """
        try:
            value = plain.read(source, None)
            if plain.enum_names is not None and type(value) is plain.enum_class:
                return plain.enum_names[value]
            if value is None and not plain.non_null:
                return None
            if value is None or value is Undefined or isinstance(value, Exception):
                return _GENERAL
            if self.is_awaitable(value):
                return _GENERAL
            return self.complete_leaf_value(plain.leaf, value)
        except Exception:
            return _GENERAL


def reading_plain_leaves(schema: GraphQLSchema) -> type[PaymentsExecutor]:
    """An executor class that knows `schema`'s plain leaf fields (read once, at start)."""
    plain: dict[tuple[str, str], _PlainLeaf] = {}
    for type_ in schema.type_map.values():
        if not is_object_type(type_) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            unwrapped = field.type.of_type if is_non_null_type(field.type) else field.type
            if getattr(field.resolve, "_is_default", False) and is_leaf_type(unwrapped):
                plain[type_.name, name] = _PlainLeaf(
                    field.resolve,
                    unwrapped,
                    isinstance(field.type, GraphQLNonNull),
                    *_enum_names(unwrapped),
                )
    return type("PaymentsExecutor", (PaymentsExecutor,), {"plain_leaves": plain})


def _enum_names(leaf: GraphQLLeafType) -> tuple[type | None, dict[Any, str] | None]:
    """A Strawberry enum's Python class and each member's name, as its serializer picks it."""
    enum_class = getattr(leaf, "wrapped_cls", None)
    if not isinstance(leaf, GraphQLEnumType) or enum_class is None:
        return None, None
    names: dict[Any, str] = {}
    for name, value in leaf.values.items():
        for member in enum_class:
            if member.value == value.value:  # the first name wins, as CustomGraphQLEnumType's scan
                names.setdefault(member, name)
    return enum_class, names
