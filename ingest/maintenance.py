"""What the bridge does between batches, on timers: deliver the action outbox, fire rule
timers (pending "for at least D" runs, silent devices) and re-notifications, apply
retention, fill the daily rollups and cluster closed chunks. Every bridge runs it; row
and advisory locks keep several from doing anything twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx2

from ingest import alerts, rollups_daily
from ingest.actions import Dispatcher, Publish
from ingest.clustering import QuietHours, cluster_next_chunk
from ingest.engine import RuleEngine
from ingest.retention import apply_retention
from ingest.store import Conn
from urbanpulse.settings import Settings

log = logging.getLogger(__name__)

TRANSIENT = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # a connection broken by the server going away mid-operation
    TimeoutError,
)

# A year of days to sum (a first start over old data) takes a dozen runs, and
# leaves room for retention and clustering between them.
DAYS_PER_RUN = 31

# the settings' defaults
CLOSED_AFTER = timedelta(hours=1)
CLUSTER_HOURS = QuietHours(2, 5)

Jobs = list[tuple[float, Callable[[], Awaitable[object]]]]


@dataclass(frozen=True)
class RollupUpkeep:
    """What the daily-rollup and clustering jobs take of the settings."""

    zone: ZoneInfo
    closed_after: timedelta = CLOSED_AFTER
    cluster_hours: QuietHours = CLUSTER_HOURS

    @classmethod
    def from_settings(cls, settings: Settings) -> RollupUpkeep:
        return cls(
            ZoneInfo(settings.timezone),
            timedelta(seconds=settings.closed_after_s),
            QuietHours.parse(settings.cluster_hours),
        )


async def maintain(
    pool: asyncpg.Pool,
    engine: RuleEngine,
    publish: Publish,
    stopping: asyncio.Event,
    tick_s: float = 15.0,
    outbox_s: float = 1.0,
    retention_s: float = 3600.0,
    upkeep: RollupUpkeep | None = None,
    rollups_s: float = 60.0,
    cluster_s: float = 60.0,
) -> None:
    # without its own settings, the city's clock is the rule engine's
    rollups = upkeep or RollupUpkeep(engine.zone)
    async with httpx2.AsyncClient(timeout=10) as http:

        async def post(url: str, body: bytes, headers: dict[str, str]) -> int:
            try:
                return (await http.post(url, content=body, headers=headers)).status_code
            except httpx2.HTTPError as exc:
                raise OSError(f"POST {url}: {exc}") from exc

        dispatcher = Dispatcher(publish, post)
        quick: Jobs = [
            (outbox_s, lambda: with_connection(pool, dispatcher.deliver_due)),
            (tick_s, lambda: tick(pool, engine)),
        ]
        # in a loop of their own: a CLUSTER of a minute must not hold up the outbox or timers
        slow: Jobs = [
            (retention_s, lambda: with_connection(pool, apply_retention)),
            (rollups_s, lambda: refresh_daily(pool, rollups)),
            (cluster_s, lambda: cluster_in_quiet_hours(pool, rollups)),
        ]
        async with asyncio.TaskGroup() as group:
            group.create_task(run_jobs(quick, stopping))
            group.create_task(run_jobs(slow, stopping))


async def run_jobs(jobs: Jobs, stopping: asyncio.Event) -> None:
    last = [0.0] * len(jobs)
    while not stopping.is_set():
        for i, (every, job) in enumerate(jobs):
            if time.monotonic() - last[i] >= every:
                last[i] = time.monotonic()
                try:
                    await job()
                except TRANSIENT as exc:
                    log.warning("maintenance postponed, database unavailable: %s", exc)
                except Exception:  # a job's bug must not end the others, nor itself for good
                    log.exception("maintenance job failed; it runs again at its next turn")
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


async def refresh_daily(pool: asyncpg.Pool, upkeep: RollupUpkeep) -> None:
    async with pool.acquire() as conn:
        done = await rollups_daily.refresh(
            conn, upkeep.zone, datetime.now(UTC), upkeep.closed_after, DAYS_PER_RUN
        )
    if done.handed_over or done.recomputed:
        log.info("daily rollups: %d days closed, %d summed", done.handed_over, len(done.recomputed))


async def cluster_in_quiet_hours(pool: asyncpg.Pool, upkeep: RollupUpkeep) -> None:
    now = datetime.now(UTC)
    if not upkeep.cluster_hours.hold(now, upkeep.zone):
        return
    async with pool.acquire() as conn:
        run = await cluster_next_chunk(conn, now, upkeep.closed_after)
    if run.clustered:
        log.info("clustered %s in %.1f s", run.chunk, run.seconds)
