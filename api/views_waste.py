"""The waste department's view: bins full now, bins the engine's fill-rate forecast
(rules/forecast.py) sees full within a horizon, and the round to drive today."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import numpy as np
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.auth import Viewer
from api.deps import AppSettings, Pool
from api.views_common import (
    PLACE_COLUMNS,
    Place,
    Selection,
    TenantFilter,
    ZoneFilter,
    place,
    select_devices,
    the_day,
)
from ingest.derived import FORECAST_DAYS
from ingest.store import Conn
from rules.forecast import COLLECTION_DROP_PCT, FloatArray, fill_forecast, hours_to_full

router = APIRouter(prefix="/views", tags=["views"])

# Rennes Métropole collects drop-off bins above 80 % full (rules/presets.py, bin_full).
DEFAULT_THRESHOLD_PCT = 80.0
DEFAULT_HORIZON_H = 24.0
# A forecast further out says "not filling", not a date.
MAX_FORECAST_H = 366 * 24.0

LEVELS = f"""
with bins as (select {PLACE_COLUMNS} from devices where {{where}})
select b.*, l.value as level_pct, l.time as measured_at
from bins b left join readings_latest l
  on l.dev_eui = b.dev_eui and l.quantity = 'filling_level' and l.channel = ''
"""
# One reading per bin and hour (the hour's last): the forecast's input, read bin by bin in
# index order; bins named in $2 are left out.
HISTORY = """
select b.dev_eui, h.time_s, h.level_pct from devices b cross join lateral (
    select array_agg(extract(epoch from last_time)::float8 order by bucket) as time_s,
           array_agg(last order by bucket) as level_pct
    from rollups_hourly
    where dev_eui = b.dev_eui and quantity = 'filling_level' and channel = ''
      and bucket > $1::timestamptz - interval '1 hour' and last_time > $1) h
where not b.dev_eui = any($2::text[]) and {where} and h.time_s is not null
"""
# Most bins were emptied within two days: their forecast, which starts after the last
# collection, needs no older reading.
RECENT = timedelta(days=2)


class Bin(Place):
    filling_level_pct: float | None = Field(description="latest fill level", examples=[86.0])
    measured_at: datetime | None = Field(examples=["2026-11-28T07:40:00Z"])
    fill_rate_pct_per_h: float | None = Field(
        description="least-squares rate since the last collection; null when not rising "
        "or fewer than 3 readings follow the collection",
        examples=[1.25],
    )
    predicted_full_at: datetime | None = Field(
        description="when the fitted line reaches 100 %", examples=["2026-11-28T18:10:00Z"]
    )
    hours_to_full: float | None = Field(description="0 when already past", examples=[8.5])


class WasteView(BaseModel):
    """`to_collect_today` is `full_now` and the bins predicted full before the end of the
    local day, ordered by zone, then fuller first."""

    now: datetime
    end_of_day: datetime = Field(description="the next local midnight")
    threshold_pct: float = Field(examples=[80.0])
    horizon_h: float = Field(examples=[24.0])
    full_now: list[Bin] = Field(description="at or above the threshold, by zone then fuller")
    full_soon: list[Bin] = Field(
        description="below the threshold, predicted full within the horizon, soonest first"
    )
    to_collect_today: list[Bin]


def forecasts(
    bins: list[str], history: list[Any], now_s: float
) -> dict[str, tuple[float, float, float]]:
    """(rate %/h, predicted full time in epoch s, hours to full) of each bin with a forecast."""
    index = {d: i for i, d in enumerate(bins)}
    known = [r for r in history if r["dev_eui"] in index]

    def flat(column: str) -> FloatArray:
        parts = [np.asarray(r[column], dtype=np.float64) for r in known]
        return np.concatenate(parts) if parts else np.zeros(0)

    sizes = [len(r["time_s"]) for r in known]
    device = np.array([index[r["dev_eui"]] for r in known], dtype=np.int64)
    rate, full_s = fill_forecast(
        np.repeat(device, sizes), flat("time_s"), flat("level_pct"), len(bins)
    )
    hours = hours_to_full(full_s, now_s)
    return {
        d: (float(rate[i]), float(full_s[i]), float(hours[i]))
        for d, i in index.items()
        if hours[i] <= MAX_FORECAST_H and full_s[i] > now_s - MAX_FORECAST_H * 3600.0
    }


def emptied(level_pct: list[float]) -> bool:
    """Whether the levels show a collection (rules/forecast.py's drop between readings)."""
    drops = -np.diff(np.asarray(level_pct, dtype=np.float64))
    return bool(np.any(drops > COLLECTION_DROP_PCT))


async def fill_history(conn: Conn, selection: Selection, now: datetime) -> list[Any]:
    """The forecast's readings: two days of those emptied since, a week of the others."""
    history = HISTORY.format(where=selection.where(3))
    recent = await conn.fetch(history, now - RECENT, [], *selection.args())
    done = [r for r in recent if emptied(r["level_pct"])]
    rest = await conn.fetch(
        history,
        now - timedelta(days=FORECAST_DAYS),
        [r["dev_eui"] for r in done],
        *selection.args(),
    )
    return done + list(rest)


def zone_then_fuller(b: dict[str, Any]) -> tuple[bool, str, float]:
    level = b["filling_level_pct"]
    return (b["zone"] is None, b["zone"] or "", -(level if level is not None else -1.0))


def classify(
    bins: list[dict[str, Any]], threshold_pct: float, horizon_h: float, now: datetime, end: datetime
) -> dict[str, list[dict[str, Any]]]:
    """The three lists of the view from bins carrying their level and forecast."""

    def full(b: dict[str, Any]) -> bool:
        return b["filling_level_pct"] is not None and b["filling_level_pct"] >= threshold_pct

    def full_by(b: dict[str, Any], moment: datetime) -> bool:
        return b["predicted_full_at"] is not None and b["predicted_full_at"] <= moment

    soon_limit = now.timestamp() + horizon_h * 3600.0
    full_now = sorted((b for b in bins if full(b)), key=zone_then_fuller)
    full_soon = sorted(
        (
            b
            for b in bins
            if not full(b) and b["hours_to_full"] is not None
            and b["predicted_full_at"].timestamp() <= soon_limit
        ),
        key=lambda b: b["predicted_full_at"],
    )  # fmt: skip
    today = sorted((b for b in bins if full(b) or full_by(b, end)), key=zone_then_fuller)
    return {"full_now": full_now, "full_soon": full_soon, "to_collect_today": today}


@router.get(
    "/waste", summary="Bins full now, full soon, and to collect today", response_model=WasteView
)
async def waste_view(
    pool: Pool,
    who: Viewer,
    settings: AppSettings,
    tenant: TenantFilter = None,
    zone: ZoneFilter = None,
    threshold_pct: Annotated[
        float, Query(ge=0, le=100, description="a bin at or above this level is full")
    ] = DEFAULT_THRESHOLD_PCT,
    horizon_h: Annotated[
        float, Query(gt=0, le=24 * 14, description="how far ahead `full_soon` looks, hours")
    ] = DEFAULT_HORIZON_H,
) -> dict[str, Any]:
    selection = select_devices(who, "waste_bin", tenant, zone)
    now = datetime.now(UTC)
    end = the_day(None, now, ZoneInfo(settings.timezone)).end
    async with pool.acquire() as conn:
        rows = await conn.fetch(LEVELS.format(where=selection.where(1)), *selection.args())
        history = await fill_history(conn, selection, now)
    predicted = forecasts([r["dev_eui"] for r in rows], history, now.timestamp())
    bins = []
    for r in rows:
        rate, full_s, hours = predicted.get(r["dev_eui"], (math.nan, math.nan, math.nan))
        known = not math.isnan(full_s)
        bins.append(
            {
                **place(r),
                "filling_level_pct": r["level_pct"],
                "measured_at": r["measured_at"],
                "fill_rate_pct_per_h": rate if known else None,
                "predicted_full_at": datetime.fromtimestamp(full_s, UTC) if known else None,
                "hours_to_full": hours if known else None,
            }
        )
    lists = classify(bins, threshold_pct, horizon_h, now, end)
    return {
        "now": now,
        "end_of_day": end,
        "threshold_pct": threshold_pct,
        "horizon_h": horizon_h,
        **lists,
    }
