"""Stripe's own example objects, the starting point of every object the tests build."""

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

Json = dict[str, Any]
# Kept in the repository (a subset of Stripe's fixtures3.json, see its _source) so the
# tests do not depend on a checkout next to this one.
_EXAMPLES = Path(__file__).with_name("stripe_examples.json")


@cache
def _resources() -> dict[str, Json]:
    resources: dict[str, Json] = json.loads(_EXAMPLES.read_text())["resources"]
    return resources


def example(kind: str, **fields: Any) -> Json:
    """A fresh copy of Stripe's example `kind` object with `fields` set over it."""
    built = copy.deepcopy(_resources()[kind])
    built.update(fields)
    return built


def without(obj: Json, *keys: str) -> Json:
    """`obj` with `keys` removed: Stripe leaves conditional fields out instead of sending null."""
    for key in keys:
        obj.pop(key, None)
    return obj
