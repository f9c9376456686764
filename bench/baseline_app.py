"""Read baselines: the smallest Starlette + asyncpg app answering the benchmark's reads as JSON."""

import os
from collections import defaultdict

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

QUERY = (
    "SELECT id, order_id, customer_id, amount, currency, status, version "
    "FROM payments WHERE id = $1"
)
# What `payments(first: 20) { nodes { id status refunds { amount } events { status } } }`
# reads: a customer's newest page (one more row tells whether a next page exists), then the
# children of its payments, one query each.
PAGE = "SELECT id, status FROM payments WHERE customer_id = $1 ORDER BY id DESC LIMIT 21"
REFUNDS = (
    "SELECT payment_id, amount FROM refunds WHERE payment_id = ANY($1::text[]) "
    "ORDER BY created_at, id"
)
EVENTS = (
    "SELECT payment_id, status FROM payment_status_history "
    "WHERE payment_id = ANY($1::text[]) AND applied ORDER BY version, id"
)
pool: asyncpg.Pool | None = None


async def connected() -> asyncpg.Pool:
    global pool
    if pool is None:
        pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=10)
    return pool


async def payment(request: Request) -> JSONResponse:
    row = await (await connected()).fetchrow(QUERY, request.path_params["id"])
    return JSONResponse(dict(row) if row else None)


async def payments(request: Request) -> JSONResponse:
    database = await connected()
    rows = await database.fetch(PAGE, request.path_params["customer"])
    page = rows[:20]
    ids = [row["id"] for row in page]
    refunds, events = defaultdict(list), defaultdict(list)
    for row in await database.fetch(REFUNDS, ids):
        refunds[row["payment_id"]].append({"amount": row["amount"]})
    for row in await database.fetch(EVENTS, ids):
        events[row["payment_id"]].append({"status": row["status"]})
    nodes = [
        {"id": i, "status": row["status"], "refunds": refunds[i], "events": events[i]}
        for row in page
        for i in (row["id"],)
    ]
    return JSONResponse({"nodes": nodes, "hasNextPage": len(rows) > 20})


app = Starlette(routes=[Route("/payment/{id}", payment), Route("/payments/{customer}", payments)])
