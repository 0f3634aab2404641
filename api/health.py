"""`/health`: is the database answering, is the broker reachable."""

from __future__ import annotations

import asyncio

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import AppSettings, Pool

router = APIRouter(tags=["health"])


async def database_ok(pool: Pool) -> bool:
    try:
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("select 1")
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    return True


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
    database, broker = await asyncio.gather(
        database_ok(pool), broker_ok(settings.mqtt_host, settings.mqtt_port)
    )
    body = {
        "status": "ok" if database and broker else "degraded",
        "database": database,
        "broker": broker,
    }
    return JSONResponse(body, status_code=200 if database and broker else 503)
