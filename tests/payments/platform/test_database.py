"""Pooled connections: released without a reset round trip, yet never left in a transaction."""

import asyncio
import uuid

import asyncpg
import pytest
from tortoise import connections

from payments.platform.database import close_database, open_database


@pytest.fixture
async def own_pool(database_url):
    """A process-wide Tortoise pool of one connection, so every query shares a backend."""
    await close_database()
    await open_database(database_url, pool_size=1)
    yield
    await close_database()
    await open_database(database_url, pool_size=20)


async def _last_query_of(database_url: str, backend_pid: int) -> str:
    observer = await asyncpg.connect(database_url)
    try:
        query: str = await observer.fetchval(
            "SELECT query FROM pg_stat_activity WHERE pid = $1", backend_pid
        )
        return query
    finally:
        await observer.close()


async def test_release_sends_no_reset_query(own_pool, database_url):
    """The backend's last statement is ours: asyncpg's reset query was not sent after it."""
    client = connections.get("default")
    backend_pid = (await client.execute_query_dict("SELECT pg_backend_pid() AS pid"))[0]["pid"]
    marker = f"m{uuid.uuid4().hex}"
    await client.execute_query(f"SELECT 1 AS {marker}")
    assert marker in await _last_query_of(database_url, backend_pid)


async def test_an_open_transaction_is_rolled_back_on_release(own_pool):
    """A connection handed back mid-transaction (a cancelled request) comes back clean."""
    client = connections.get("default")
    async with client.acquire_connection() as connection:
        await connection.execute("BEGIN")
        await connection.execute("CREATE TEMP TABLE leftover (id int)")
    async with client.acquire_connection() as connection:
        assert await connection.fetchval("SELECT to_regclass('pg_temp.leftover')") is None
        assert not connection.is_in_transaction()


async def test_a_transaction_whose_begin_fails_gives_its_connection_back(own_pool, monkeypatch):
    """BEGIN on a dropped connection: the pool of one serves the next query, in the same task."""
    from tortoise.backends.asyncpg.client import TransactionWrapper
    from tortoise.transactions import in_transaction

    original_begin = TransactionWrapper.begin

    async def dropped(self: TransactionWrapper) -> None:
        monkeypatch.setattr(TransactionWrapper, "begin", original_begin)
        raise asyncpg.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        )

    monkeypatch.setattr(TransactionWrapper, "begin", dropped)
    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        async with in_transaction():
            pass
    # Tortoise left both behind: the query ran on the dead transaction, or waited for the
    # pool's only connection forever.
    async with asyncio.timeout(5), in_transaction() as connection:
        assert await connection.execute_query_dict("SELECT 1 AS one") == [{"one": 1}]
    assert not isinstance(connections.get("default"), TransactionWrapper)
