"""`/health`: is the database answering, is the broker reachable, and how full is the
queue of PostgreSQL notifications that carries the live stream (a stream client that never
reads cannot fill it: each API worker drains it into bounded per-client queues)."""

from __future__ import annotations

import asyncio

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import AppSettings, Pool

router = APIRouter(tags=["health"])


async def notify_queue_usage(pool: Pool) -> float | None:
    """The fraction of the notification queue in use; None when the database is down."""
    try:
        async with pool.acquire(timeout=2) as conn:
            usage: float = await conn.fetchval("select pg_notification_queue_usage()")
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return None
    return usage


async def broker_ok(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=2)
    except (OSError, TimeoutError):
        return False
    writer.close()
    await writer.wait_closed()
    return True


@router.get("/health", summary="Database and broker reachability")
async def health(pool: Pool, settings: AppSettings) -> JSONResponse:
    usage, broker = await asyncio.gather(
        notify_queue_usage(pool), broker_ok(settings.mqtt_host, settings.mqtt_port)
    )
    database = usage is not None
    body = {
        "status": "ok" if database and broker else "degraded",
        "database": database,
        "broker": broker,
        "notify_queue_usage": usage,
    }
    return JSONResponse(body, status_code=200 if database and broker else 503)
