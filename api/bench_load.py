"""Loading and settling the query benchmark's city: a day per statement on two
connections into a database of its own, resumable, then settled as maintenance leaves a
running system (closed days summed into the daily rollups, closed chunks clustered)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg

import migrations
from api.bench_city import (
    DAY_S,
    LATEST_SQL,
    ROLLUPS_SQL,
    TENANTS,
    CityPlan,
    device_rows,
    readings_sql,
)
from ingest import rollups_daily
from ingest.clustering import cluster_next_chunk
from urbanpulse.settings import Settings

LOAD_CONNECTIONS = 2

# One row: the plan being loaded and its origin, written with the devices; the counts and
# loaded_at once every day is in. A load cut short resumes at the days still missing.
CITY_TABLE = """
create table if not exists bench_query_city (
    plan          jsonb not null,
    origin        timestamptz not null,
    readings      bigint,
    rollups       bigint,
    load_s        double precision,
    resumed_days  integer,
    written       bigint[],
    loaded_at     timestamptz
)"""

# The days already committed: each day's readings and rollups are one transaction.
DAYS_DONE_SQL = """
select d from generate_series(0, $2::int - 1) d
where exists (select 1 from readings where time >= $1::timestamptz + d * interval '1 day'
                                       and time < $1::timestamptz + (d + 1) * interval '1 day')
"""


@dataclass(frozen=True)
class LoadedCity:
    origin: datetime
    readings: int
    rollups: int
    load_s: float  # of the run that completed the load
    resumed_days: int  # days an earlier, interrupted run had committed
    written: tuple[int, int]  # readings and rollups that run wrote
    loaded_now: bool


def progress(message: str) -> None:
    print(f"bench query: {message}", file=sys.stderr, flush=True)


async def prepare_database(settings: Settings, name: str) -> str:
    """The URL of database `name` on the settings' server, created and migrated."""
    parts = urlsplit(settings.database_url)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    conn = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        if not await conn.fetchval("select 1 from pg_database where datname = $1", name):
            await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(url)
    try:
        await migrations.migrate(conn)
    finally:
        await conn.close()
    return url


async def load(url: str, plan: CityPlan, reload: bool = False) -> LoadedCity:
    """Fill the city of `plan`, unless it is already there and `reload` is false; a load
    of the same plan that was cut short is completed."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(CITY_TABLE)
        row = await conn.fetchrow("select plan::text, * from bench_query_city")
        same = row is not None and not reload and json.loads(row["plan"]) == plan.describe()
        if row is not None and same and row["loaded_at"] is not None:
            return LoadedCity(
                row["origin"], row["readings"], row["rollups"], row["load_s"],
                row["resumed_days"], tuple(row["written"]), False,
            )  # fmt: skip
        began = time.perf_counter()
        if row is not None and same:
            origin = row["origin"]
        else:
            origin = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            origin -= timedelta(plan.days)
            await start_city(conn, plan, origin)
        done = {r["d"] for r in await conn.fetch(DAYS_DONE_SQL, origin, plan.days)}
        if done:
            progress(f"resuming: {len(done)} of {plan.days} days are already there")
        # the load writes hourly rollups around the writer, which marks stale days
        await rollups_daily.forget(conn)
        written = await fill_days(url, plan, origin, [d for d in range(plan.days) if d not in done])
        progress("latest values, then ANALYZE")
        longest_s = max(f.interval_s for f in plan.fleets)
        await conn.execute("truncate readings_latest")
        await conn.execute(LATEST_SQL, origin + timedelta(seconds=plan.span_s - longest_s))
        await conn.execute(
            "update devices d set last_seen_at = l.time from (select dev_eui, max(time) as time "
            "from readings_latest group by dev_eui) l where d.dev_eui = l.dev_eui"
        )
        await conn.execute("analyze devices, readings, rollups_hourly, readings_latest")
        readings = await conn.fetchval("select count(*) from readings")
        rollups = await conn.fetchval("select count(*) from rollups_hourly")
        load_s = time.perf_counter() - began
        await conn.execute(
            "update bench_query_city set readings = $1, rollups = $2, load_s = $3, "
            "resumed_days = $4, written = $5, loaded_at = now()",
            readings, rollups, load_s, len(done), list(written),
        )  # fmt: skip
        return LoadedCity(origin, readings, rollups, load_s, len(done), written, True)
    finally:
        await conn.close()


async def start_city(conn: asyncpg.Connection, plan: CityPlan, origin: datetime) -> None:
    """An empty city: its devices and the plan it is loaded with."""
    async with conn.transaction():
        await conn.execute(
            "truncate readings, rollups_hourly, readings_latest, devices, tenants, "
            "bench_query_city cascade"
        )
        await insert_devices(conn, plan)
        await conn.execute(
            "insert into bench_query_city (plan, origin) values ($1::jsonb, $2)",
            json.dumps(plan.describe()), origin,
        )  # fmt: skip


async def insert_devices(conn: asyncpg.Connection, plan: CityPlan) -> None:
    await conn.executemany("insert into tenants (id) values ($1)", [(t,) for t in TENANTS])
    columns = list(zip(*device_rows(plan), strict=True))
    await conn.execute(
        "insert into devices (dev_eui, tenant_id, model, device_class, name, latitude, longitude, zone, params) "
        "select d, t, m, c, n, la, lo, z, p::jsonb from unnest($1::text[], $2::text[], $3::text[], "
        "$4::text[], $5::text[], $6::float8[], $7::float8[], $8::text[], $9::text[]) "
        "as u(d, t, m, c, n, la, lo, z, p)",
        *columns,
    )


async def fill_days(url: str, plan: CityPlan, origin: datetime, todo: list[int]) -> tuple[int, int]:
    """Readings and their hourly rollups, one day per transaction, on parallel connections
    taking days in time order so that the hypertables' chunks fill one after the other.
    Returns how many of each it wrote."""
    sql = readings_sql(plan, int(origin.timestamp()))
    days: asyncio.Queue[int] = asyncio.Queue()
    for day in todo:
        days.put_nowait(day)
    began = time.perf_counter()
    written = rolled = done = 0

    async def worker() -> None:
        nonlocal written, rolled, done
        conn = await asyncpg.connect(url)
        try:
            # a benchmark's own data: a crash costs loading its last days again
            await conn.execute("set synchronous_commit = off")
            await conn.execute("set work_mem = '256MB'")
            await conn.execute("set jit = off")
            while not days.empty():
                day = days.get_nowait()
                start, end = day * DAY_S, (day + 1) * DAY_S
                async with conn.transaction():
                    status = await conn.execute(sql, start, end)
                    rollup_status = await conn.execute(
                        ROLLUPS_SQL,
                        origin + timedelta(seconds=start),
                        origin + timedelta(seconds=end),
                    )
                written += int(status.split()[-1])
                rolled += int(rollup_status.split()[-1])
                done += 1
                if done % max(1, len(todo) // 50) == 0 or done == len(todo):
                    rate = written / (time.perf_counter() - began)
                    progress(
                        f"{done}/{len(todo)} days, {written:,} readings, {rate:,.0f} readings/s"
                    )
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(LOAD_CONNECTIONS)))
    return written, rolled


@dataclass(frozen=True)
class Settled:
    days: int  # summed into the daily rollups
    chunks: int  # clustered
    seconds: float


async def settle(url: str, zone: ZoneInfo, now: datetime, closed_after: timedelta) -> Settled:
    """What maintenance leaves a running system, done at once whatever the hour: the days
    closed at `now` summed into the daily rollups, then every closed chunk clustered. On a
    city already settled, nothing: loaded before daily rollups existed, all of it."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("set work_mem = '256MB'")
        await conn.execute("set maintenance_work_mem = '1GB'")
        began = time.perf_counter()
        # days first: they read the hourly rollups by time, which clustering scatters
        handed_over = await rollups_daily.hand_over(conn, zone, now, closed_after)
        todo = await conn.fetchval("select count(*) from rollups_daily_stale")
        if handed_over or todo:
            progress(f"daily rollups: {todo} days to sum")
        days = 0
        while await rollups_daily.recompute_stale_day(conn) is not None:
            days += 1
            if days % 30 == 0 or days == todo:
                progress(f"{days}/{todo} days summed, {time.perf_counter() - began:.0f} s")
        chunks = 0
        while (run := await cluster_next_chunk(conn, now, closed_after)).chunk is not None:
            if not run.clustered:
                raise RuntimeError(f"chunk {run.chunk} is in use: nothing else may run on {url}")
            chunks += 1
            progress(f"clustered {run.chunk} in {run.seconds:.1f} s")
        if days or chunks:
            await conn.execute("analyze readings, rollups_hourly, rollups_daily")
        return Settled(days, chunks, time.perf_counter() - began)
    finally:
        await conn.close()
