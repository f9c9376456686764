"""Builds the Strawberry schema with its protective extensions."""

from functools import partial

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig

from graph.errors import ErrorPolicy
from graph.limits import DocumentLimits
from graph.mutations import Mutation
from graph.observability import OperationMetrics
from graph.queries import Query
from graph.rate_limits import RateLimits
from graph.types import Payment, Refund


def build_schema(
    limits: DocumentLimits | None = None, *, hide_suggestions: bool = False
) -> strawberry.Schema:
    """The schema; parser and validation caches make repeated documents cheap."""
    limits = limits or DocumentLimits()
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[Payment, Refund],
        extensions=[
            partial(ErrorPolicy, hide_suggestions=hide_suggestions),
            OperationMetrics,
            RateLimits,
            *limits.extensions(),
            ParserCache,
            ValidationCache,
        ],
        config=StrawberryConfig(auto_camel_case=True),
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
