"""The executor: Strawberry's, with plain scalar and enum fields read without a resolve info.

graphql-core builds a resolve info, looks for arguments and completes through its generic
path for every field; a page of 20 payments has over a hundred fields, most of them a
plain attribute (`id`, `status`, `amount`) whose resolver ignores the info anyway
(issue 31: execution was about half of a page's CPU). Those are read and coerced here
directly, with graphql-core's own errors; every other field takes graphql-core's path.
"""

from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
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
    return_type: GraphQLOutputType
    non_null: bool
    # An enum's members and their GraphQL names: Strawberry finds a name by a scan of them.
    enum_class: type | None = None
    enum_names: dict[Any, str] | None = None


class PaymentsExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor (resolvers get its info) with a short path for plain leaves."""

    # (object type name, field name) -> how to read it; filled by `reading_plain_leaves`.
    plain_leaves: dict[tuple[str, str], _PlainLeaf] = {}

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        field_name = field_details_list[0].node.name.value
        plain = self.plain_leaves.get((parent_type.name, field_name))
        wrapped = self.middleware_manager is not None and self.middleware_manager.middlewares
        if plain is None or wrapped:
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        try:
            value = plain.read(source, None)
            if self.is_awaitable(value):  # not an attribute after all: graphql-core awaits it
                return super().execute_field(
                    parent_type, source, field_details_list, path, position_context
                )
            if isinstance(value, Exception):
                raise value
            if plain.enum_names is not None and type(value) is plain.enum_class:
                return plain.enum_names[value]
            if value is None or value is Undefined:
                if plain.non_null:
                    raise TypeError(
                        f"Cannot return null for non-nullable field {parent_type}.{field_name}."
                    )
                return None
            return self.complete_leaf_value(plain.leaf, value)
        except Exception as raw_error:
            self.handle_field_error(raw_error, plain.return_type, field_details_list, path)
            return None


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
                    field.type,
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
