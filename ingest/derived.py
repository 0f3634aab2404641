"""Quantities the presets watch that no device reports, computed in the writer's
transaction from the batch and what is stored: a lighting controller's `lamp_fault`, a
bin's `bin_hours_to_full`, a people counter's `people_ratio_last_week`, and a zone's
indicative `air_index`."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from ingest.store import Conn, ReadingRow
from rules import airindex, windows
from rules.derived import lamp_fault, ratio_to_last_week
from rules.forecast import fill_forecast, hours_to_full

Derived = tuple[float, str, str, str, float]  # (time_s, dev_eui, quantity, channel, value)
CIRCUIT = ("circuit_state", "relay_state")
FORECAST_DAYS = 7


async def derived_readings(
    conn: Conn, wanted: set[str], readings: Sequence[ReadingRow], tz: ZoneInfo
) -> list[Derived]:
    out: list[Derived] = []
    if "air_index" in wanted:
        out += await air_indices(conn, readings, tz)
    if "lamp_fault" in wanted:
        out += await lamp_faults(conn, readings)
    if "bin_hours_to_full" in wanted:
        out += await bin_forecasts(conn, readings)
    if "people_ratio_last_week" in wanted:
        out += await footfall_ratios(conn, readings)
    return out


async def lamp_faults(conn: Conn, readings: Sequence[ReadingRow]) -> list[Derived]:
    """One code per controller and uplink, the worst of its circuits: each circuit's state
    against the controller's power (absent: NaN) and the sun at the device's place
    (unknown place: no day/night check)."""
    power: dict[tuple[str, datetime], float] = {}
    circuits: list[tuple[datetime, str, str, float]] = []
    for t, dev_eui, quantity, channel, value, _ in readings:
        if quantity == "active_power":
            power[(dev_eui, t)] = value
        elif quantity in CIRCUIT:
            circuits.append((t, dev_eui, channel, value))
    if not circuits:
        return []
    places = {
        r["dev_eui"]: (r["latitude"], r["longitude"])
        for r in await conn.fetch(
            "select dev_eui, latitude, longitude from devices where dev_eui = any($1::text[])",
            sorted({c[1] for c in circuits}),
        )
    }

    def coordinate(dev_eui: str, i: int) -> float:
        value = places.get(dev_eui, (None, None))[i]
        return math.nan if value is None else float(value)

    codes = lamp_fault(
        np.array([c[0].timestamp() for c in circuits]),
        np.array([c[3] for c in circuits]),
        np.array([power.get((c[1], c[0]), math.nan) for c in circuits]),
        np.array([coordinate(c[1], 0) for c in circuits]),
        np.array([coordinate(c[1], 1) for c in circuits]),
    )
    # Rules watch one channel: the controller's worst circuit stands for it (a per-circuit
    # code would need a rule per circuit).
    worst: dict[tuple[float, str], float] = {}
    for c, code in zip(circuits, codes.tolist(), strict=True):
        if not math.isnan(code):
            key = (c[0].timestamp(), c[1])
            worst[key] = max(code, worst.get(key, 0.0))
    return [(t, dev_eui, "lamp_fault", "", code) for (t, dev_eui), code in worst.items()]


async def bin_forecasts(conn: Conn, readings: Sequence[ReadingRow]) -> list[Derived]:
    """Hours until each bin of the batch is full, from its fill levels of the last week
    (this batch's included: they are stored already)."""
    latest: dict[str, datetime] = {}
    for t, dev_eui, quantity, _, _, _ in readings:
        if quantity == "filling_level":
            latest[dev_eui] = max(t, latest.get(dev_eui, t))
    if not latest:
        return []
    bins = sorted(latest)
    rows = await conn.fetch(
        "select dev_eui, time, value from readings where quantity = 'filling_level' and channel = '' "
        "and dev_eui = any($1::text[]) and time > $2::timestamptz - make_interval(days => $3)",
        bins, max(latest.values()), FORECAST_DAYS,
    )  # fmt: skip
    index = {d: i for i, d in enumerate(bins)}
    _, full_s = fill_forecast(
        np.array([index[r["dev_eui"]] for r in rows], dtype=np.int64),
        np.array([r["time"].timestamp() for r in rows]),
        np.array([r["value"] for r in rows], dtype=np.float64),
        len(bins),
    )
    out = []
    for i, dev_eui in enumerate(bins):
        now_s = latest[dev_eui].timestamp()
        hours = float(hours_to_full(full_s[i : i + 1], now_s)[0])
        if not math.isnan(hours):
            out.append((now_s, dev_eui, "bin_hours_to_full", "", hours))
    return out


async def footfall_ratios(conn: Conn, readings: Sequence[ReadingRow]) -> list[Derived]:
    """When a counter's reading opens a new hour: the last complete hour's people_in
    against the same hour a week before (hourly rollups), at the new hour's start."""
    hours: dict[str, datetime] = {}
    for t, dev_eui, quantity, channel, _, _ in readings:
        if quantity == "people_in" and channel == "":
            hours[dev_eui] = t.replace(minute=0, second=0, microsecond=0)
    if not hours:
        return []
    rows = await conn.fetch(
        "select dev_eui, bucket, sum from rollups_hourly where quantity = 'people_in' and channel = '' "
        "and dev_eui = any($1::text[]) and bucket >= $2 and bucket < $3",
        sorted(hours), min(hours.values()) - timedelta(hours=169), max(hours.values()),
    )  # fmt: skip
    sums: dict[tuple[str, datetime], float] = defaultdict(float)
    for r in rows:
        sums[(r["dev_eui"], r["bucket"])] = float(r["sum"])
    out = []
    for dev_eui, hour in sorted(hours.items()):
        previous = hour - timedelta(hours=1)
        week_ago = previous - timedelta(hours=168)
        grid = np.full((1, 169), np.nan)
        if (dev_eui, week_ago) in sums:
            grid[0, 0] = sums[(dev_eui, week_ago)]
        grid[0, 168] = sums.get((dev_eui, previous), 0.0)
        ratio = float(ratio_to_last_week(grid)[0, 168])
        if not math.isnan(ratio):
            out.append((hour.timestamp(), dev_eui, "people_ratio_last_week", "", ratio))
    return out


async def air_indices(conn: Conn, readings: Sequence[ReadingRow], tz: ZoneInfo) -> list[Derived]:
    """The indicative air index (ATMO-style) of each zone a batch's pollutant readings come
        from, for the local day so far, from the hourly rollups of every air-quality sensor of
        the zone. Zones are a commune's own: two tenants may both name a zone "centre". A zone's
    index is carried by its first sensor (lowest DevEUI), so a rule on
        `air_index` raises one alert per zone, on that sensor."""
    latest: dict[str, datetime] = {}
    for t, dev_eui, quantity, channel, _, _ in readings:
        if quantity in airindex.BREAKPOINTS and channel == "":
            latest[dev_eui] = max(t, latest.get(dev_eui, t))
    if not latest:
        return []
    sensors = await conn.fetch(
        "select dev_eui, tenant_id, zone from devices where device_class = 'air_quality' and (tenant_id, zone) in "
        "(select tenant_id, zone from devices where dev_eui = any($1::text[]) and zone is not null) order by dev_eui",
        sorted(latest),
    )
    if not sensors:
        return []
    zones = sorted({(r["tenant_id"], r["zone"]) for r in sensors})
    zone_of = {r["dev_eui"]: zones.index((r["tenant_id"], r["zone"])) for r in sensors}
    carrier = {z: min(d for d, i in zone_of.items() if zones[i] == z) for z in zones}
    newest = max(latest.values()).astimezone(tz)
    day = datetime.combine(newest.date(), datetime.min.time(), tz)
    rows = await conn.fetch(
        "select dev_eui, quantity, bucket, count, sum from rollups_hourly where dev_eui = any($1::text[]) "
        "and quantity = any($2::text[]) and channel = '' and bucket >= $3 and bucket < $4",
        sorted(zone_of), sorted(airindex.BREAKPOINTS), day, day + timedelta(days=1),
    )  # fmt: skip
    devices = sorted(zone_of)
    row_of = {d: i for i, d in enumerate(devices)}
    daily: dict[str, npt.NDArray[np.float64]] = {}
    for pollutant, metric in airindex.METRIC.items():
        count, total = np.zeros((len(devices), 24)), np.zeros((len(devices), 24))
        for r in rows:
            hour = int((r["bucket"] - day).total_seconds() // 3600)
            if r["quantity"] == pollutant and 0 <= hour < 24:
                count[row_of[r["dev_eui"]], hour], total[row_of[r["dev_eui"]], hour] = (
                    r["count"],
                    r["sum"],
                )
        hourly = windows.hourly_means(count, total)
        per_device = (
            windows.mean_24h(hourly)
            if metric == "mean_24h"
            else windows.daily_max_hourly_mean(hourly)
        )
        codes = np.array([zone_of[d] for d in devices], dtype=np.int64)
        daily[pollutant] = airindex.zone_max(codes, len(zones), per_device)
    levels = airindex.index(daily)[:, 0]
    moment = max(latest.values()).timestamp()
    return [
        (moment, carrier[z], "air_index", "", float(levels[i]))
        for i, z in enumerate(zones)
        if levels[i] > 0
    ]
