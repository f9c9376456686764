"""Bounds of live connections in one process: per principal, and before authentication."""

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ConnectionLimit:
    """Counts each principal's open connections; one past `per_principal` is refused."""

    per_principal: int
    open: Counter[str] = field(default_factory=Counter)

    def acquire(self, sub: str) -> bool:
        """Count a new connection of `sub`; False (and not counted) when it has too many."""
        if self.open[sub] >= self.per_principal:
            return False
        self.open[sub] += 1
        return True

    def release(self, sub: str) -> None:
        self.open[sub] -= 1
        if self.open[sub] <= 0:
            del self.open[sub]


@dataclass
class PendingConnections:
    """Counts connections not authenticated yet; one past `at_most` is refused."""

    at_most: int
    open: int = 0

    def acquire(self) -> bool:
        """Count a new connection; False (and not counted) when `at_most` are already open."""
        if self.open >= self.at_most:
            return False
        self.open += 1
        return True

    def release(self) -> None:
        self.open -= 1
