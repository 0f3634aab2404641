"""The FastAPI application: built from one settings object, one connection pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import orjson
from fastapi import FastAPI

from api import (
    access,
    alerts,
    commands,
    device_writes,
    devices,
    errors,
    exports,
    health,
    latest,
    rules,
    series,
    stream,
    views,
)
from api.auth import KeyCache
from urbanpulse.settings import Settings


async def init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
    )


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.key_cache = KeyCache()
        app.state.pool = await asyncpg.create_pool(
            settings.database_url,
            min_size=1,
            max_size=8,
            init=init_connection,
            # the API's queries are short index scans: JIT compiling them costs more than it saves
            server_settings={"jit": "off"},
        )
        app.state.latest_snapshots = latest.snapshot_cache(settings)
        try:
            yield
        finally:
            await app.state.latest_snapshots.close()
            await stream.shutdown(app)
            await app.state.pool.close()

    app = FastAPI(
        title="urbanpulse",
        version="0.1.0",
        description="Sensor data of a city's streetlights, bins, air-quality sensors and people counters.",
        lifespan=lifespan,
        responses=errors.ERROR_RESPONSES,
    )
    app.include_router(health.router)
    app.include_router(access.router)
    app.include_router(devices.router)
    app.include_router(device_writes.router)
    app.include_router(commands.router)
    app.include_router(alerts.router)
    app.include_router(rules.router)
    app.include_router(series.router)
    app.include_router(latest.router)
    app.include_router(views.router)
    app.include_router(stream.router)
    app.include_router(exports.router)

    errors.install(app)
    return app
