"""The executor: Strawberry's, with objects of plain fields answered in one pass.

graphql-core builds a resolve info, looks for arguments and completes through its generic
path for every field; a page of 20 payments has over a hundred fields, most of them a
plain attribute (`id`, `status`, `amount`) whose resolver ignores the info anyway
(issue 31: execution was about half of a page's CPU). Those are read and coerced here
directly. An object whose every selected field is plain, or a list or object of such
objects (a plain attribute, or a resolver's value read with the page and marked
`PRELOADED`), is answered by a plan made once per execution, without graphql-core's
per-field path. Anything unusual (a null, an error, an awaitable) goes back through
graphql-core's path for that object, which reads the attributes again and answers as
always: the short paths never write an error themselves.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    is_leaf_type,
    is_list_type,
    is_object_type,
)
from graphql.execution.collect_fields import DeferUsage, FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

# A resolver field's metadata key: the attribute that holds its value when it was read
# beforehand (None: not read, the resolver answers).
PRELOADED = "preloaded"


@dataclass(frozen=True, slots=True)
class _PlainLeaf:
    """A field whose resolver only reads an attribute, of a scalar or enum type."""

    read: Any  # Strawberry's default resolver: (source, info) -> the attribute
    leaf: GraphQLLeafType
    non_null: bool
    # An enum's members and their GraphQL names: Strawberry finds a name by a scan of them.
    enum_class: type | None = None
    enum_names: dict[Any, str] | None = None


@dataclass(frozen=True, slots=True)
class _PlainObjects:
    """A field of an object type, or a list of one, whose value is an attribute."""

    read: Any  # (source) -> the attribute
    object_type: GraphQLObjectType
    non_null: bool
    many: bool
    item_non_null: bool
    # A resolver's value read beforehand: None there means not read (the resolver answers).
    preloaded: bool


@dataclass(frozen=True, slots=True)
class _TypeName:
    name: str


# What a short path answers where graphql-core's own path must (a null, an error).
_GENERAL = object()
# (response name, how to read it, the plan of its objects for an object field)
_Step = tuple[str, "_PlainLeaf | _PlainObjects | _TypeName", "tuple[_Step, ...] | None"]


class PaymentsExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor (resolvers get its info) with short paths for plain fields."""

    # (object type name, field name) -> how to read it; filled by `reading_plain_fields`.
    plain_fields: dict[tuple[str, str], _PlainLeaf | _PlainObjects] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        wrapped = self.middleware_manager is not None and self.middleware_manager.middlewares
        # Middleware wraps every resolver: then every field takes graphql-core's path.
        self._plain = {} if wrapped else self.plain_fields
        # Per grouped field set (kept alive by collect_subfields' memo), its plan or None.
        self._plans: dict[int, tuple[_Step, ...] | None] = {}

    def execute_collected_subfields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path,
        grouped_field_set: GroupedFieldSet,
        new_defer_usages: Sequence[DeferUsage],
        position_context: Any,
    ) -> Any:
        if not new_defer_usages and position_context is None:
            plan = self._plan(parent_type, grouped_field_set)
            if plan is not None:
                try:
                    answer = self._answer(plan, source_value)
                except Exception:
                    answer = _GENERAL
                if answer is not _GENERAL:
                    return answer
        return super().execute_collected_subfields(
            parent_type, source_value, path, grouped_field_set, new_defer_usages, position_context
        )

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any,
    ) -> Any:
        plain = self._plain.get((parent_type.name, field_details_list[0].node.name.value))
        if isinstance(plain, _PlainLeaf):
            value = self._leaf_value(plain, source)
            if value is not _GENERAL:
                return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def _plan(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> tuple[_Step, ...] | None:
        """How to answer an object of `parent_type` for these fields; None if one is not plain."""
        key = id(grouped_field_set)
        if key in self._plans:
            return self._plans[key]
        self._plans[key] = None  # also what a type that selects itself below meets
        steps: list[_Step] = []
        for name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            if node.name.value == "__typename":
                steps.append((name, _TypeName(parent_type.name), None))
                continue
            plain = self._plain.get((parent_type.name, node.name.value))
            if isinstance(plain, _PlainLeaf):
                steps.append((name, plain, None))
                continue
            if plain is None or any(details.node.directives for details in field_details_list):
                return None  # a resolver, or a directive such as @stream: graphql-core's
            below, defers, _ = self.collect_subfields(plain.object_type, field_details_list)
            plan = None if defers else self._plan(plain.object_type, below)
            if plan is None:
                return None
            steps.append((name, plain, plan))
        self._plans[key] = tuple(steps)
        return self._plans[key]

    def _answer(self, plan: tuple[_Step, ...], source: Any) -> Any:
        """The object's answer by `plan`, or _GENERAL."""
        answer: dict[str, Any] = {}
        for name, plain, below in plan:
            if below is not None:
                value = self._objects_value(plain, below, source)  # type: ignore[arg-type]
            elif isinstance(plain, _PlainLeaf):
                value = self._leaf_value(plain, source)
            else:
                value = plain.name  # type: ignore[union-attr]
            if value is _GENERAL:
                return _GENERAL
            answer[name] = value
        return answer

    def _objects_value(self, plain: _PlainObjects, plan: tuple[_Step, ...], source: Any) -> Any:
        value = plain.read(source)
        if value is None:
            return _GENERAL if plain.non_null or plain.preloaded else None
        if not plain.many:
            return self._object_value(plain, plan, value)
        if type(value) is not list:
            return _GENERAL  # graphql-core judges other iterables (and non-iterables)
        items: list[Any] = []
        for item in value:
            if item is None:
                if plain.item_non_null:
                    return _GENERAL
                items.append(None)
                continue
            answer = self._object_value(plain, plan, item)
            if answer is _GENERAL:
                return _GENERAL
            items.append(answer)
        return items

    def _object_value(self, plain: _PlainObjects, plan: tuple[_Step, ...], value: Any) -> Any:
        is_type_of = plain.object_type.is_type_of
        # Strawberry's own is_type_of reads no info; another one raises here: _GENERAL.
        if is_type_of is not None and is_type_of(value, None) is not True:  # type: ignore[arg-type]
            return _GENERAL
        return self._answer(plan, value)

    def _leaf_value(self, plain: _PlainLeaf, source: Any) -> Any:
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


def reading_plain_fields(schema: GraphQLSchema) -> type[PaymentsExecutor]:
    """An executor class that knows `schema`'s plain fields (read once, at start)."""
    plain: dict[tuple[str, str], _PlainLeaf | _PlainObjects] = {}
    for type_ in schema.type_map.values():
        if not is_object_type(type_) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            reading = _plain_field(field)
            if reading is not None:
                plain[type_.name, name] = reading
    return type("PaymentsExecutor", (PaymentsExecutor,), {"plain_fields": plain})


def _plain_field(field: GraphQLField) -> _PlainLeaf | _PlainObjects | None:
    """How to read `field` without its resolver, or None when only the resolver can."""
    strawberry_field = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if strawberry_field is None or strawberry_field.extensions:
        return None  # a field extension (a permission, say) runs around the resolver
    default = getattr(field.resolve, "_is_default", False)
    preloaded = strawberry_field.metadata.get(PRELOADED)
    non_null, unwrapped = _unwrapped(field.type)
    if default and is_leaf_type(unwrapped):
        return _PlainLeaf(field.resolve, unwrapped, non_null, *_enum_names(unwrapped))
    if not default and preloaded is None:
        return None
    read = attrgetter(preloaded) if preloaded else partial(_by_default, field.resolve)
    many = is_list_type(unwrapped)
    item_non_null, item = _unwrapped(unwrapped.of_type) if many else (False, unwrapped)
    if not is_object_type(item):
        return None
    return _PlainObjects(read, item, non_null, many, item_non_null, preloaded is not None)


def _by_default(resolve: Any, source: Any) -> Any:
    return resolve(source, None)


def _unwrapped(type_: GraphQLOutputType) -> tuple[bool, Any]:
    if isinstance(type_, GraphQLNonNull):
        return True, type_.of_type
    return False, type_


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
