"""Where one endpoint's events go: its URL, the secrets that sign them, the types it wants."""

from collections.abc import Sequence
from dataclasses import dataclass

# Every event type: the filter of an endpoint created without one.
EVERY_EVENT = "*"


@dataclass(frozen=True)
class Destination:
    """An enabled endpoint as delivery sees it; `id` is what its deliveries name as `consumer`."""

    id: str
    url: str
    # The current secret first; during a rotation's grace period the replaced one too.
    secrets: tuple[str, ...] = ()
    event_types: tuple[str, ...] = (EVERY_EVENT,)
    # An admin's endpoint in production: connections go to public addresses only.
    public_only: bool = False
    # Its last deliveries were dead-lettered (the run that disables it has begun).
    failing: bool = False

    def wants(self, event_type: str) -> bool:
        """Whether the filter names `event_type` exactly or by a prefix ending in `*`."""
        return matches(self.event_types, event_type)


def matches(patterns: Sequence[str], event_type: str) -> bool:
    """Whether one of `patterns` is `event_type` or a prefix of it followed by `*`."""
    return any(
        event_type.startswith(pattern[:-1]) if pattern.endswith("*") else pattern == event_type
        for pattern in patterns
    )
