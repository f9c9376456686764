"""Tortoise configuration, start-up and migration for a database URL."""

from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate

from models import MODEL_MODULES


def tortoise_config(database_url: str, pool_size: int = 20) -> dict[str, Any]:
    """The Tortoise config for one database, with our models and migrations."""
    credentials_url = _with_pool(database_url, pool_size)
    return {
        "connections": {"default": credentials_url},
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


def _with_pool(database_url: str, pool_size: int) -> str:
    if not database_url.startswith(("postgres://", "postgresql://")) or "maxsize" in database_url:
        return database_url
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}minsize=1&maxsize={pool_size}"


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
