"""The environment department's view: each air sensor's latest pollutant values, the EU
and WHO thresholds its day crossed (rules/presets.py), and an indicative ATMO-style index
per zone for the day (rules/airindex.py), all from the day's hourly rollups."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter
from pydantic import BaseModel, Field

import decoders
from api.auth import Viewer
from api.deps import AppSettings, Pool
from api.views_common import (
    PLACE_COLUMNS,
    DayParam,
    LocalDay,
    Place,
    TenantFilter,
    ZoneFilter,
    place,
    select_devices,
    the_day,
)
from rules import airindex, windows
from rules.presets import PRESETS

FloatArray = npt.NDArray[np.float64]
router = APIRouter(prefix="/views", tags=["views"])

QUANTITIES = ("pm2_5", "pm10", "no2", "o3", "so2", "co2")
# The preset rule sets whose thresholds the view checks, with their legal or health source.
SOURCES = {
    "eu_limits_2008": "EU limit values, Directive 2008/50/EC",
    "eu_limits_2030": "EU limit values for 2030, Directive (EU) 2024/2881",
    "who_2021": "WHO global air quality guidelines 2021",
    "indoor_co2": "indoor CO2 in public buildings, décret 2022-1689 and HCSP",
}
HOURS = windows.DAY_HOURS

SENSORS = f"select {PLACE_COLUMNS}, tags from devices where {{where}} order by dev_eui"
LATEST = """
select dev_eui, quantity, time, value from readings_latest
where dev_eui in (select dev_eui from devices where {where})
  and quantity = any($1::text[]) and channel = '' order by dev_eui, quantity
"""
DAY_ROLLUPS = """
select dev_eui, quantity, bucket, count, sum, max from rollups_hourly
where dev_eui in (select dev_eui from devices where {where})
  and quantity = any($1::text[]) and channel = '' and bucket >= $2 and bucket < $3
"""


class Latest(BaseModel):
    quantity: str = Field(examples=["pm2_5"])
    value: float = Field(examples=[18.0])
    unit: str = Field(examples=["µg/m³"])
    time: datetime


class Crossing(BaseModel):
    """A threshold the day's value went above (strictly, as the rule kernels compare)."""

    source: str = Field(examples=["who_2021"])
    source_name: str = Field(examples=[SOURCES["who_2021"]])
    name: str = Field(examples=["WHO AQG PM2.5 24 h"])
    quantity: str = Field(examples=["pm2_5"])
    window: str = Field(
        description="raw: highest reading (a rule's duration is not checked); "
        "hourly_mean: highest hourly mean (with `hours` consecutive hours above); "
        "running_mean_8h: highest 8 h mean within the day; "
        "mean_24h: the day's mean, once 18 hours have data",
        examples=["mean_24h"],
    )
    hours: int = Field(description="consecutive hours the threshold asks for", examples=[1])
    threshold: float = Field(examples=[15.0])
    value: float = Field(examples=[21.4])
    unit: str = Field(examples=["µg/m³"])


class AirSensor(Place):
    latest: list[Latest]
    crossed: list[Crossing]


class ZoneIndex(BaseModel):
    tenant_id: str | None = Field(examples=["villeurbanne"])
    zone: str = Field(examples=["centre"])
    sensors: int = Field(examples=[3])
    level: int | None = Field(
        description="1 good … 6 extremely poor; null when no pollutant has a daily value",
        examples=[2],
    )
    label: str | None = Field(examples=["fair"])
    sub_indices: dict[str, int] = Field(examples=[{"pm2_5": 2, "pm10": 1}])


class AirView(BaseModel):
    """`latest` is now, whatever the day; `crossed` and `zones` are about the day."""

    day: date
    index_name: str = Field(
        description="computed from the commune's sensors: not the official index of the "
        "approved monitoring association",
        examples=[airindex.NAME],
    )
    sensors: list[AirSensor]
    zones: list[ZoneIndex]


def thresholds() -> list[tuple[str, str, str, str, float, int, dict[str, str]]]:
    """(source, name, quantity, window, threshold, hours, tags a sensor needs) per preset."""
    return [
        (source, name, quantity, window, float(value), int(extra.get("count", 1)),
         dict(extra.get("selector", {}).get("tags", {})))
        for source in SOURCES
        for name, quantity, window, value, _, extra in PRESETS[source]
    ]  # fmt: skip


THRESHOLDS = thresholds()


def hourly_grids(
    rows: list[Any], sensors: list[str], start: datetime
) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Per quantity, (sensors, 24) hourly means and hourly maxima over the day; NaN where
    an hour has no data. A 25-hour day drops its last hour, as the engine does."""
    row_of = {d: i for i, d in enumerate(sensors)}
    slot = {q: n for n, q in enumerate(sorted({r["quantity"] for r in rows}))}
    shape = (len(slot), len(sensors), HOURS)
    count, total, top = np.zeros(shape), np.zeros(shape), np.full(shape, np.nan)
    start_s = start.timestamp()
    for r in rows:
        hour = int((r["bucket"].timestamp() - start_s) // 3600)
        if 0 <= hour < HOURS:
            at = (slot[r["quantity"]], row_of[r["dev_eui"]], hour)
            count[at], total[at], top[at] = r["count"], r["sum"], r["max"]
    means = windows.hourly_means(count, total)
    return {q: (means[n], top[n]) for q, n in slot.items()}


def longest_run_above(hourly: FloatArray, threshold: float) -> npt.NDArray[np.int64]:
    """Per series, the most consecutive hours whose mean is above the threshold."""
    above = np.nan_to_num(hourly, nan=-np.inf) > threshold
    best = np.zeros(hourly.shape[0], np.int64)
    run = np.zeros(hourly.shape[0], np.int64)
    for h in range(hourly.shape[1]):
        run = np.where(above[:, h], run + 1, 0)
        best = np.maximum(best, run)
    return best


def day_value(window: str, hourly: FloatArray, top: FloatArray) -> FloatArray:
    """Per series, the day's value of a rule window, NaN where it has none."""
    if window == "mean_24h":
        return windows.mean_24h(hourly)[:, 0]
    per_hour = {"raw": top, "hourly_mean": hourly}.get(window)
    if per_hour is None and window == "running_mean_8h":
        per_hour = windows.running_mean_8h(hourly)
    if per_hour is None:
        raise ValueError(f"no day value for window {window!r}")
    out: FloatArray = np.fmax.reduce(per_hour, axis=1)
    return out


def crossings(
    sensors: list[dict[str, Any]], grids: dict[str, tuple[FloatArray, FloatArray]]
) -> list[list[dict[str, Any]]]:
    """Per sensor, the thresholds its day crossed."""
    out: list[list[dict[str, Any]]] = [[] for _ in sensors]
    for source, name, quantity, window, threshold, hours, tags in THRESHOLDS:
        if quantity not in grids:
            continue
        hourly, top = grids[quantity]
        value = day_value(window, hourly, top)
        crossed = np.nan_to_num(value, nan=-np.inf) > threshold
        if hours > 1:
            crossed &= longest_run_above(hourly, threshold) >= hours
        for i in np.flatnonzero(crossed).tolist():
            if all(sensors[i]["tags"].get(k) == v for k, v in tags.items()):
                out[i].append({
                    "source": source, "source_name": SOURCES[source], "name": name,
                    "quantity": quantity, "window": window, "hours": hours,
                    "threshold": threshold, "value": float(value[i]),
                    "unit": decoders.QUANTITIES[quantity].unit,
                })  # fmt: skip
    return out


def zone_indices(
    sensors: list[dict[str, Any]], grids: dict[str, tuple[FloatArray, FloatArray]]
) -> list[dict[str, Any]]:
    """The indicative index of each (tenant, zone) with sensors: the engine's method
    (ingest/derived.py air_indices) over the sensors the caller sees."""
    zones = sorted({(s["tenant_id"] or "", s["zone"]) for s in sensors if s["zone"] is not None})
    if not zones:
        return []
    code = {z: n for n, z in enumerate(zones)}
    placed = [i for i, s in enumerate(sensors) if s["zone"] is not None]
    of_zone = np.array([code[(sensors[i]["tenant_id"] or "", sensors[i]["zone"])] for i in placed])
    daily: dict[str, FloatArray] = {}
    for pollutant, metric in airindex.METRIC.items():
        if pollutant not in grids:
            continue
        hourly = grids[pollutant][0][placed]
        per_sensor = (
            windows.mean_24h(hourly)
            if metric == "mean_24h"
            else windows.daily_max_hourly_mean(hourly)
        )
        daily[pollutant] = airindex.zone_max(of_zone, len(zones), per_sensor)[:, 0]
    levels = airindex.index(daily) if daily else np.zeros(len(zones), np.int64)
    subs = {p: airindex.sub_index(p, v) for p, v in daily.items()}
    counts = np.bincount(of_zone, minlength=len(zones))
    return [
        {
            "tenant_id": tenant or None,
            "zone": zone,
            "sensors": int(counts[n]),
            "level": int(levels[n]) or None,
            "label": airindex.LEVELS[levels[n] - 1] if levels[n] else None,
            "sub_indices": {p: int(s[n]) for p, s in subs.items() if s[n]},
        }
        for n, (tenant, zone) in enumerate(zones)
    ]


@router.get(
    "/air",
    summary="Air quality now, thresholds crossed and the zones' index",
    response_model=AirView,
)
async def air_view(
    pool: Pool,
    who: Viewer,
    settings: AppSettings,
    tenant: TenantFilter = None,
    zone: ZoneFilter = None,
    day: DayParam = None,
) -> dict[str, Any]:
    selection = select_devices(who, "air_quality", tenant, zone)
    local: LocalDay = the_day(day, datetime.now(UTC), ZoneInfo(settings.timezone))
    watched = sorted(set(QUANTITIES) | set(airindex.BREAKPOINTS))
    async with pool.acquire() as conn:
        rows = await conn.fetch(SENSORS.format(where=selection.where(1)), *selection.args())
        latest = await conn.fetch(
            LATEST.format(where=selection.where(2)), watched, *selection.args()
        )
        rollups = await conn.fetch(
            DAY_ROLLUPS.format(where=selection.where(4)),
            watched, local.start, local.end, *selection.args(),
        )  # fmt: skip
    sensors = [dict(r) for r in rows]
    names = [s["dev_eui"] for s in sensors]
    grids = hourly_grids(rollups, names, local.start)
    values: dict[str, list[dict[str, Any]]] = {}
    for r in latest:
        values.setdefault(r["dev_eui"], []).append(
            {
                "quantity": r["quantity"],
                "value": r["value"],
                "unit": decoders.QUANTITIES[r["quantity"]].unit,
                "time": r["time"],
            }
        )
    crossed = crossings(sensors, grids)
    return {
        "day": local.day,
        "index_name": airindex.NAME,
        "sensors": [
            {**place(s), "latest": values.get(s["dev_eui"], []), "crossed": crossed[i]}
            for i, s in enumerate(sensors)
        ],
        "zones": zone_indices(sensors, grids),
    }
