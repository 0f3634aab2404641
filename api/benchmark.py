"""`urbanpulse bench query`: latency of the query API over a year of a mid-size city.

The city of a scenario (api/bench_city.py) is loaded and settled (api/bench_load.py);
then `urbanpulse api` serves it from a subprocess and a keep-alive client times each
request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx2
import orjson

from api.access import create_key
from api.bench_city import CityPlan, plan_city
from api.bench_load import load, prepare_database, settle
from api.serve import api_process
from simulators.scenario import load_scenario
from urbanpulse.settings import Settings


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
