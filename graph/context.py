"""The per-request GraphQL context: who is calling, data loaders, and the service runtime."""

from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeAlias

import structlog
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from models.dispute import Dispute
from models.payment import Refund
from payments.disputes.reads import disputes_by_payment
from payments.live.hub import Hub
from payments.reads.service import (
    StatusChange,
    client_secrets_by_payment,
    history_by_payment,
    refunds_by_payment,
)
from payments.runtime import Runtime
from payments.shared.auth import Principal


@dataclass
class Loaders:
    """Batch children of many payments into one query each (no N+1 on pages)."""

    refunds: DataLoader[str, list[Refund]] = field(
        default_factory=lambda: DataLoader(load_fn=refunds_by_payment)
    )
    history: DataLoader[str, list[StatusChange]] = field(
        default_factory=lambda: DataLoader(load_fn=history_by_payment)
    )
    client_secrets: DataLoader[str, str | None] = field(
        default_factory=lambda: DataLoader(load_fn=client_secrets_by_payment)
    )
    disputes: DataLoader[str, list[Dispute]] = field(
        default_factory=lambda: DataLoader(load_fn=disputes_by_payment)
    )


@dataclass
class Context:
    runtime: Runtime
    authorization: str | None
    known_principal: Principal | None = None
    live: Hub | None = None
    # The client's address (a trusted proxy's X-Forwarded-For): keys the anonymous budget.
    client_address: str | None = None

    @cached_property
    def loaders(self) -> Loaders:
        """Made on first use: a payment by id and a page read without them (issue 31)."""
        return Loaders()

    def hub(self) -> Hub:
        """The process's live fan-in; only the ASGI app (not a bare schema) has one."""
        if self.live is None:
            raise RuntimeError("subscriptions need the app's live hub")
        return self.live

    async def principal(self) -> Principal:
        """The authenticated caller; raises Unauthenticated when the token is missing or bad."""
        if self.known_principal is None:
            self.known_principal = await self.runtime.verifier.authenticate(self.authorization)
            structlog.contextvars.bind_contextvars(principal=self.known_principal.sub)
        return self.known_principal


Info: TypeAlias = StrawberryInfo[Context, None]
