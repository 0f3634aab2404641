"""What the bridge does between batches, on timers: deliver the action outbox, fire rule
timers (pending "for at least D" runs, silent devices) and re-notifications, apply
retention. Every bridge runs it; row locks keep several from doing anything twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import httpx2

from ingest import alerts
from ingest.actions import Dispatcher, Publish
from ingest.engine import RuleEngine
from ingest.retention import apply_retention
from ingest.store import Conn

log = logging.getLogger(__name__)

TRANSIENT = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, TimeoutError)


async def maintain(
    pool: asyncpg.Pool,
    engine: RuleEngine,
    publish: Publish,
    stopping: asyncio.Event,
    tick_s: float = 15.0,
    outbox_s: float = 1.0,
    retention_s: float = 3600.0,
) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:

        async def post(url: str, body: bytes, headers: dict[str, str]) -> int:
            try:
                return (await http.post(url, content=body, headers=headers)).status_code
            except httpx2.HTTPError as exc:
                raise OSError(f"POST {url}: {exc}") from exc

        dispatcher = Dispatcher(publish, post)
        jobs: list[tuple[float, Callable[[], Awaitable[object]]]] = [
            (outbox_s, lambda: with_connection(pool, dispatcher.deliver_due)),
            (tick_s, lambda: tick(pool, engine)),
            (retention_s, lambda: with_connection(pool, apply_retention)),
        ]
        last = [0.0] * len(jobs)
        while not stopping.is_set():
            for i, (every, job) in enumerate(jobs):
                if time.monotonic() - last[i] >= every:
                    last[i] = time.monotonic()
                    try:
                        await job()
                    except TRANSIENT as exc:
                        log.warning("maintenance postponed, database unavailable: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=min(e for e, _ in jobs))


async def with_connection(pool: asyncpg.Pool, job: Callable[[Conn], Awaitable[object]]) -> object:
    async with pool.acquire() as conn:
        return await job(conn)


async def tick(pool: asyncpg.Pool, engine: RuleEngine) -> None:
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        fired, resolved = await engine.tick(conn, now)
        renotified = await alerts.renotify_due(conn, now)
    if fired or resolved or renotified:
        log.info(
            "timers: %d alerts fired, %d resolved, %d re-notified", fired, resolved, renotified
        )
