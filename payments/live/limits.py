"""Bounds of live connections in one process: per principal, and before authentication."""

from collections import Counter
from dataclasses import dataclass, field

from payments.shared.rate_limits import address_key


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
    """Counts connections not authenticated yet, in all and per client address.

    One past `at_most` in all, or past `per_address` from one address (keyed as the
    anonymous budget keys it: an IPv6 client by its /64), is refused, so that one address
    cannot hold every place and lock signed-in clients of other addresses out.
    """

    at_most: int
    per_address: int
    open: int = 0
    by_address: Counter[str] = field(default_factory=Counter)

    def acquire(self, address: str | None) -> bool:
        """Count a new connection from `address`; False (and not counted) when either is full."""
        key = address_key(address)
        if self.open >= self.at_most or self.by_address[key] >= self.per_address:
            return False
        self.open += 1
        self.by_address[key] += 1
        return True

    def release(self, address: str | None) -> None:
        key = address_key(address)
        self.open -= 1
        self.by_address[key] -= 1
        if self.by_address[key] <= 0:
            del self.by_address[key]
