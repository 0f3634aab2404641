"""`urbanpulse bench query`: latency of the query API over a year of a mid-size city.

The city of a scenario is generated inside PostgreSQL, a day per statement on two
connections, into a database of its own that later runs with the same plan reuse; then
it is settled as maintenance leaves a running system (closed days summed into the daily
rollups, closed chunks clustered), `urbanpulse api` serves it from a subprocess and a
keep-alive client times each request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg
import httpx2
import orjson

import migrations
from api.access import create_key
from api.serve import api_process
from ingest import rollups_daily
from ingest.clustering import cluster_next_chunk
from simulators.scenario import Fleet, Scenario, Zone, load_scenario
from urbanpulse.settings import Settings

DAY_S = 86_400
# Streetlight controllers are nine devices in ten; at their real half-hour cadence a year
# of them alone would be 1.6 billion readings. They take whatever the budget leaves once
# every other fleet reports at its scenario's pace.
STRETCHED_CLASS = "streetlight"
TENANTS = ("ville", "agglo-nord", "agglo-sud")
LOAD_CONNECTIONS = 2
PHASE_STEP = 7919  # a prime: devices of a fleet spread their reports over its interval

# (quantity, channel, value as SQL over `t`, epoch seconds, and `n`, the device's number)
DAY_PHASE = "sin(t::float8 / 13751 - 2)"  # one period a day, lowest before dawn
NIGHT = "t % 86400 not between 25200 and 61199"  # lights on outside 07:00–17:00 UTC
FILL_HOURS = "(t / 3600 + n * 7) % 96"  # a bin fills in four days, then is emptied
QUANTITIES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "streetlight": (
        ("active_power", "", f"case when {NIGHT} then round(400 + 600 * random()) / 10 else 0 end"),
        ("energy", "", "t / 90 + n * 997"),
        ("circuit_state", "1", f"case when {NIGHT} then 1 else 0 end"),
    ),
    "waste_bin": (
        ("filling_level", "", f"round({FILL_HOURS} * 1000 / 96::float8) / 10"),
        ("distance", "", f"1200 - 10 * {FILL_HOURS}"),
    ),
    "air_quality": (
        ("pm2_5", "", f"round(80 + 60 * random() + 40 * {DAY_PHASE}) / 10"),
        ("pm10", "", f"round(150 + 100 * random() + 60 * {DAY_PHASE}) / 10"),
        ("temperature", "", f"round(120 + 80 * {DAY_PHASE} + 20 * random()) / 10"),
        ("relative_humidity", "", f"round(650 - 200 * {DAY_PHASE} + 50 * random()) / 10"),
    ),
    "people_counter": (
        ("people_in", "", f"floor(40 * random() * (1 + {DAY_PHASE}))"),
        ("people_out", "", f"floor(40 * random() * (1 + {DAY_PHASE}))"),
    ),
}


@dataclass(frozen=True)
class FleetPlan:
    index: int
    device_class: str
    model: str
    count: int
    interval_s: int
    zones: tuple[Zone, ...]

    def dev_eui(self, n: int) -> str:
        return f"b0{self.index:02x}{n:012x}"

    def phase_s(self, n: int) -> int:
        """Seconds from the origin to the device's first report; SQL repeats it."""
        return n * PHASE_STEP % self.interval_s

    @property
    def quantities(self) -> tuple[tuple[str, str, str], ...]:
        return QUANTITIES[self.device_class]


@dataclass(frozen=True)
class CityPlan:
    scenario: str
    days: int
    fleets: tuple[FleetPlan, ...]

    @property
    def span_s(self) -> int:
        return self.days * DAY_S

    def describe(self) -> dict[str, Any]:
        """What decides the loaded data; a stored plan equal to it is reused."""
        fleets = [[f.device_class, f.model, f.count, f.interval_s] for f in self.fleets]
        return {"scenario": self.scenario, "days": self.days, "fleets": fleets}

    def of_class(self, device_class: str) -> list[str]:
        return [
            f.dev_eui(n)
            for f in self.fleets
            if f.device_class == device_class
            for n in range(f.count)
        ]


def plan_city(scenario: Scenario, readings: int, days: int) -> CityPlan:
    """Every fleet keeps its scenario's interval but the streetlights', which is set so
    that `days` hold about `readings` readings."""
    span = days * DAY_S
    zones = {z.name: z for z in scenario.zones}

    def per_report(f: Fleet) -> int:
        return f.count * len(QUANTITIES[f.device_class])

    others = [f for f in scenario.fleets if f.device_class != STRETCHED_CLASS]
    fixed = sum(per_report(f) * span / f.interval_s for f in others)
    stretched = sum(per_report(f) for f in scenario.fleets if f not in others)
    if not stretched or readings <= fixed:
        raise ValueError(
            f"{readings} readings cannot hold {days} days of {scenario.name}: its fleets other "
            f"than {STRETCHED_CLASS}s alone report {fixed:.0f}"
        )
    stretched_interval = max(1, round(stretched * span / (readings - fixed)))
    return CityPlan(
        scenario.name,
        days,
        tuple(
            FleetPlan(
                i,
                f.device_class,
                f.model,
                f.count,
                stretched_interval if f.device_class == STRETCHED_CLASS else round(f.interval_s),
                tuple(zones[z] for z in f.zones),
            )
            for i, f in enumerate(scenario.fleets)
        ),
    )


def expected_readings(plan: CityPlan) -> int:
    """The readings the loader writes: each device reports every interval from its phase."""
    return sum(
        len(f.quantities) * max(0, math.ceil((plan.span_s - f.phase_s(n)) / f.interval_s))
        for f in plan.fleets
        for n in range(f.count)
    )


def device_rows(plan: CityPlan, seed: int = 1) -> list[tuple[Any, ...]]:
    """(dev_eui, tenant, model, class, name, latitude, longitude, zone, params) per device."""
    rng = random.Random(seed)
    rows = []
    for f in plan.fleets:
        for n in range(f.count):
            zone = f.zones[n % len(f.zones)]
            params = {"bin_height_mm": 1200} if f.device_class == "waste_bin" else {}
            rows.append((
                f.dev_eui(n), TENANTS[n % len(TENANTS)], f.model, f.device_class,
                f"{f.device_class}-{zone.name}-{n:05d}",
                round(rng.uniform(zone.south, zone.north), 6),
                round(rng.uniform(zone.west, zone.east), 6),
                zone.name, json.dumps(params),
            ))  # fmt: skip
    return rows


def readings_sql(plan: CityPlan, origin_epoch: int) -> str:
    """Insert the readings of seconds [$1, $2) after the origin, in time order."""
    parts = [
        f"""select to_timestamp(t) as time, '{f.dev_eui(0)[:4]}' || lpad(to_hex(n), 12, '0') as dev_eui,
       '{quantity}' as quantity, '{channel}' as channel, ({value})::float8 as value
from generate_series(0, {f.count - 1}) n,
     lateral (select n * {PHASE_STEP} % {f.interval_s} as phase) p,
     lateral generate_series(greatest(0, ($1::bigint - phase) / {f.interval_s}) * {f.interval_s} + phase,
                             $2::bigint - 1, {f.interval_s}) s,
     lateral (select {origin_epoch} + s as t) e
where s >= $1::bigint"""
        for f in plan.fleets
        for quantity, channel, value in f.quantities
    ]
    union = "\nunion all\n".join(parts)
    return (
        "insert into readings (time, dev_eui, quantity, channel, value)\n"
        f"select * from (\n{union}\n) r order by time, dev_eui, quantity, channel"
    )


# The values the writer's rollup upsert would have reached (ingest.store.ROLLUP).
ROLLUPS_SQL = """
insert into rollups_hourly (bucket, dev_eui, quantity, channel, count, sum, min, max, last, last_time)
select time_bucket('1 hour', time) as b, dev_eui, quantity, channel, count(*), sum(value),
       min(value), max(value), last(value, time), max(time)
from readings where time >= $1 and time < $2
group by b, dev_eui, quantity, channel
order by b, dev_eui, quantity, channel
"""

# Every series has a reading in its last interval, so the newest ones are all found there.
LATEST_SQL = """
insert into readings_latest (dev_eui, quantity, channel, time, value)
select distinct on (dev_eui, quantity, channel) dev_eui, quantity, channel, time, value
from readings where time >= $1
order by dev_eui, quantity, channel, time desc
"""

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


@dataclass(frozen=True)
class QueryKind:
    name: str
    target_p99_ms: float
    requests: int
    # (path, query parameters) of one request drawn at random
    draw: Callable[[random.Random], tuple[str, list[tuple[str, str]]]]
    # what a response holds: series points or devices
    items: Callable[[Any], int]


def query_kinds(plan: CityPlan, origin: datetime, requests: int) -> list[QueryKind]:
    hours = plan.span_s // 3600
    dense = [f for f in plan.fleets if f.interval_s <= 3600]
    bins = plan.of_class("waste_bin")

    def window(rng: random.Random, days: int) -> list[tuple[str, str]]:
        start = origin + timedelta(hours=rng.randrange(max(1, hours - days * 24 + 1)))
        return [("start", start.isoformat()), ("end", (start + timedelta(days)).isoformat())]

    def one_device(rng: random.Random) -> tuple[str, list[tuple[str, str]]]:
        fleet = rng.choice(dense)
        device = fleet.dev_eui(rng.randrange(fleet.count))
        return "/series", [
            ("dev_eui", device), ("quantity", fleet.quantities[0][0]), *window(rng, 30),
            ("bucket", "1h"), ("agg", "avg"),
        ]  # fmt: skip

    def hundred_bins(rng: random.Random) -> tuple[str, list[tuple[str, str]]]:
        devices = rng.sample(bins, min(100, len(bins)))
        return "/series", [
            *(("dev_eui", d) for d in devices), ("quantity", "filling_level"), *window(rng, 7),
            ("bucket", "1d"), ("agg", "avg"),
        ]  # fmt: skip

    def points(body: Any) -> int:
        return sum(len(s["points"]) for s in body["series"])

    def devices(body: Any) -> int:
        return len(body["devices"])

    lights = [("class", "streetlight")]
    return [
        QueryKind("series_1_device_30d_hourly", 50, requests, one_device, points),
        QueryKind("series_100_devices_7d_daily", 100, requests, hundred_bins, points),
        QueryKind(
            "latest_streetlights",
            150,
            max(1, requests // 2),
            lambda rng: ("/latest", lights),
            devices,
        ),
        # the same devices with one value each: what a map of lit circuits asks
        QueryKind(
            "latest_streetlights_one_quantity",
            150,
            max(1, requests // 2),
            lambda rng: ("/latest", [*lights, ("quantity", "circuit_state")]),
            devices,
        ),
    ]


@contextlib.contextmanager
def api_server(settings: Settings, url: str) -> Iterator[str]:
    """`urbanpulse api` on `url`'s database; yields its base URL."""
    environ = {
        "URBANPULSE_DATABASE_URL": url,
        "URBANPULSE_MQTT_HOST": settings.mqtt_host,
        "URBANPULSE_MQTT_PORT": str(settings.mqtt_port),
    }
    log_path = Path(tempfile.gettempdir()) / f"urbanpulse-bench-query-api-{os.getpid()}.log"
    with api_process(environ, log_path) as base:
        yield base


def time_kind(client: httpx2.Client, kind: QueryKind, rng: random.Random) -> dict[str, Any]:
    """Warm up, then time `kind.requests` requests one after the other."""
    latencies, sizes, items = [], [], []
    for i in range(kind.requests // 10 + kind.requests):
        path, params = kind.draw(rng)
        began = time.perf_counter()
        response = client.get(path, params=tuple(params))
        elapsed = time.perf_counter() - began
        if response.status_code != 200:
            status = response.status_code
            raise RuntimeError(f"{kind.name}: {path} answered {status}: {response.text[:500]}")
        if i >= kind.requests // 10:
            latencies.append(elapsed * 1000)
            sizes.append(len(response.content))
            items.append(kind.items(orjson.loads(response.content)))
    p50, p99 = percentiles(latencies)
    return {
        "requests": kind.requests,
        "p50_ms": round(p50, 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(max(latencies), 1),
        "target_p99_ms": kind.target_p99_ms,
        "met": p99 < kind.target_p99_ms,
        "mean_bytes": round(statistics.fmean(sizes)),
        "mean_items": round(statistics.fmean(items), 1),
    }


def percentiles(values: list[float]) -> tuple[float, float]:
    if len(values) == 1:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


async def issue_key(url: str) -> tuple[str, str]:
    conn = await asyncpg.connect(url)
    try:
        made = await create_key(conn, "bench query", "admin", None)
        return str(made["id"]), str(made["key"])
    finally:
        await conn.close()


async def revoke_key(url: str, key_id: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("update api_keys set revoked_at = now() where id = $1", key_id)
    finally:
        await conn.close()


def measure(
    settings: Settings, url: str, plan: CityPlan, origin: datetime, requests: int, seed: int = 7
) -> dict[str, Any]:
    """p50/p99 of every query kind through the HTTP API, as a client sees them."""
    # a log line per request would be timed too
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    key_id, token = asyncio.run(issue_key(url))
    rng = random.Random(seed)
    try:
        with (
            api_server(settings, url) as base,
            httpx2.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as client,
        ):
            return {k.name: time_kind(client, k, rng) for k in query_kinds(plan, origin, requests)}
    finally:
        asyncio.run(revoke_key(url, key_id))


async def count_rows(url: str, table: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        rows: int = await conn.fetchval(f"select count(*) from {table}")
        return rows
    finally:
        await conn.close()


async def database_gb(url: str) -> float:
    conn = await asyncpg.connect(url)
    try:
        size = await conn.fetchval("select pg_database_size(current_database())")
        return round(float(size) / 1e9, 1)
    finally:
        await conn.close()


def run(
    settings: Settings,
    scenario_path: str,
    readings: int,
    days: int,
    requests: int,
    reload: bool,
    database: str,
) -> dict[str, Any]:
    scenario = load_scenario(scenario_path)
    plan = plan_city(scenario, readings, days)
    url = asyncio.run(prepare_database(settings, database))
    city = asyncio.run(load(url, plan, reload))
    settled = asyncio.run(
        settle(
            url,
            ZoneInfo(settings.timezone),
            datetime.now(UTC),
            timedelta(seconds=settings.closed_after_s),
        )
    )
    timings = measure(settings, url, plan, city.origin, requests)
    return {
        "bench": "query",
        "scenario": plan.scenario,
        "database": database,
        "devices": sum(f.count for f in plan.fleets),
        "streetlights": len(plan.of_class("streetlight")),
        "days": days,
        "readings": city.readings,
        "rollups_hourly": city.rollups,
        "rollups_daily": asyncio.run(count_rows(url, "rollups_daily")),
        "intervals_s": {f.model: f.interval_s for f in plan.fleets},
        "database_gb": asyncio.run(database_gb(url)),
        "loaded_now": city.loaded_now,
        "load_s": round(city.load_s, 1),
        "load_resumed_days": city.resumed_days,
        "load_readings_per_s": round(city.written[0] / city.load_s),
        "load_rows_per_s": round(sum(city.written) / city.load_s),
        "settle_s": round(settled.seconds, 1),
        "settled_days": settled.days,
        "clustered_chunks": settled.chunks,
        **timings,
    }
