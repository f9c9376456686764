"""Schemathesis hooks (SCHEMATHESIS_HOOKS): our scalars' strategies and the internal-error check."""

import schemathesis
from schemathesis.graphql import scalar

from tests.fuzz.hostile import SCALARS, internal_errors

for name, strategy in SCALARS.items():
    scalar(name, strategy)


@schemathesis.check
def no_internal_error(ctx: object, response: schemathesis.Response, case: object) -> None:
    """A 5xx, a trace or "Unexpected error." fails; typed errors and 4xx are answers."""
    problems = internal_errors(response.status_code, response.text)
    if problems:
        raise AssertionError(f"{problems}: {response.text[:500]}")
