"""Readiness probes of the database and Redis."""

import asyncio
from collections.abc import Coroutine
from typing import Any

from redis.asyncio import Redis
from tortoise import connections

PROBE_TIMEOUT_SECONDS = 2.0


async def check_readiness(redis: Redis | None) -> dict[str, str]:
    """`{"database": "ok" | "down", "redis": ...}`; Redis is absent when none is configured."""
    checks = {"database": await _probe(_ping_database())}
    if redis is not None:
        checks["redis"] = await _probe(_ping_redis(redis))
    return checks


async def _probe(check: Coroutine[Any, Any, None]) -> str:
    try:
        await asyncio.wait_for(check, PROBE_TIMEOUT_SECONDS)
    except Exception:  # any failure to answer means "down" to an orchestrator
        return "down"
    return "ok"


async def _ping_database() -> None:
    await connections.get("default").execute_query("SELECT 1")


async def _ping_redis(redis: Redis) -> None:
    await redis.ping()
