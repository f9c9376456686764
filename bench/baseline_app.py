"""Read baseline: the smallest Starlette + asyncpg app returning one payment row as JSON."""

import os

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

QUERY = (
    "SELECT id, order_id, customer_id, amount, currency, status, version "
    "FROM payments WHERE id = $1"
)
pool: asyncpg.Pool | None = None


async def payment(request: Request) -> JSONResponse:
    global pool
    if pool is None:
        pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=10)
    row = await pool.fetchrow(QUERY, request.path_params["id"])
    return JSONResponse(dict(row) if row else None)


app = Starlette(routes=[Route("/payment/{id}", payment)])
