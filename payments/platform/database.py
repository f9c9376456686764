"""Tortoise configuration, start-up and migration for a database URL."""

from typing import Any

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate

from models import MODEL_MODULES


def tortoise_config(database_url: str, pool_size: int = 20) -> dict[str, Any]:
    """The Tortoise config for one database, with our models and migrations."""
    return {
        "connections": {"default": _connection(database_url, pool_size)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(database_url: str, pool_size: int) -> str | dict[str, Any]:
    if not database_url.startswith(("postgres://", "postgresql://")):
        return database_url
    connection = expand_db_url(_with_pool(database_url, pool_size))
    # Tortoise's asyncpg engine, but a transaction whose BEGIN fails (the server dropped
    # the connection) gives its connection back and leaves the task's context clean.
    connection["engine"] = "payments.platform.postgres_engine"
    connection["credentials"]["reset"] = _keep_session
    return connection


def _with_pool(database_url: str, pool_size: int) -> str:
    if "maxsize" in database_url:
        return database_url
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}minsize=1&maxsize={pool_size}"


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release a pooled connection without asyncpg's reset query (a round trip per query).

    Nothing here changes session state on a pooled connection: no SET, LISTEN (the relay
    listens on its own connection), advisory locks or cursors. asyncpg still rolls back
    a transaction left open before calling this.
    """


async def open_database(database_url: str, pool_size: int = 20) -> None:
    """Open connections for the whole process (request tasks and actors share them)."""
    await Tortoise.init(
        config=tortoise_config(database_url, pool_size), _enable_global_fallback=True
    )


async def close_database() -> None:
    await Tortoise.close_connections()


async def apply_migrations(database_url: str) -> None:
    """Bring the database schema up to the latest committed migration."""
    await migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()
