"""Bounds of live connections: how many one principal may hold open in one process."""

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
