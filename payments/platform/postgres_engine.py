"""Tortoise's asyncpg engine, but a transaction whose BEGIN fails gives back what it took."""

import contextlib
from typing import Any

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    TransactionalDBClient,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.connection import get_connections


class _TransactionReleasedWhenBeginFails(TransactionContextPooled):
    """Tortoise's pooled transaction, undone when BEGIN fails (the server dropped the connection).

    Tortoise takes a pooled connection and makes the transaction the task's current
    connection before sending BEGIN, and undoes both only in `__aexit__`, which does not
    run when `__aenter__` raises: the connection never went back to the pool, and every
    later query of the task ran on that dead transaction ("connection is closed").
    """

    async def __aenter__(self) -> TransactionalDBClient:
        try:
            return await super().__aenter__()
        except BaseException:
            await self._undo()
            raise

    async def _undo(self) -> None:
        token: Any = getattr(self, "token", None)
        if token is not None:
            get_connections().reset(token)
        connection = getattr(self.client, "_connection", None)
        pool = self.client._parent._pool
        if connection is not None and pool is not None:
            # A connection the server dropped is closed by the pool as it comes back.
            with contextlib.suppress(Exception):
                await pool.release(connection)


class PaymentsPostgresClient(AsyncpgDBClient):
    """The asyncpg client whose transactions give back their connection when BEGIN fails."""

    def _in_transaction(self) -> TransactionContext:
        return _TransactionReleasedWhenBeginFails(TransactionWrapper(self), self._pool_init_lock)


# Tortoise loads an engine module's `client_class`.
client_class = PaymentsPostgresClient
