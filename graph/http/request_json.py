"""Request bodies and WebSocket messages as JSON: one object, finite numbers, bounded nesting."""

import json
import math
from typing import Any

# A GraphQL request nests a few levels (body, variables, input, metadata); 32 leaves room for
# any real input while keeping every later walk over the values (graphql-core's coercion,
# the JSON scalar, metadata checks) far from Python's recursion limit.
MAX_DEPTH = 32


class JSONMessageRefused(json.JSONDecodeError):
    """A body or message that is not a JSON object we read; `msg` says why.

    A JSONDecodeError, so Strawberry's WebSocket transport closes the socket as for any
    message that is not JSON.
    """

    def __init__(self, reason: str, document: str | bytes) -> None:
        text = document if isinstance(document, str) else document.decode("utf-8", "replace")
        super().__init__(reason, text, 0)


def read_json_object(data: str | bytes) -> dict[str, Any]:
    """The JSON object in `data`, or JSONMessageRefused.

    Refused: invalid JSON or UTF-8, numbers Python will not convert (NaN, Infinity,
    1e999, integers of thousands of digits), any value that is not an object, and
    nesting deeper than MAX_DEPTH.
    """
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise JSONMessageRefused(_too_deep(), data) from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError and number limits
        raise JSONMessageRefused(f"The body is not valid JSON: {error}", data) from None
    if not isinstance(value, dict):
        raise JSONMessageRefused("The body must be a JSON object.", data)
    if _deeper_than(value, MAX_DEPTH):
        raise JSONMessageRefused(_too_deep(), data)
    return value


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:20]} is out of range")
    return number


def _too_deep() -> str:
    return f"The body nests objects and lists more than {MAX_DEPTH} deep."


def _deeper_than(value: dict[str, Any], limit: int) -> bool:
    """Whether containers nest more than `limit` deep, walked without recursion."""
    level: list[dict[str, Any] | list[Any]] = [value]
    for _ in range(limit):
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True
