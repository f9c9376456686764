"""Builds the Strawberry schema with its protective extensions."""

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from graph.errors import ErrorPolicy
from graph.mutations import Mutation
from graph.queries import Query
from graph.types import Payment, Refund


def build_schema() -> strawberry.Schema:
    """The schema; parser and validation caches make repeated documents cheap."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[Payment, Refund],
        extensions=[ErrorPolicy, ParserCache, ValidationCache],
        config=StrawberryConfig(auto_camel_case=True),
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
