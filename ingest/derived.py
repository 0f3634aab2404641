"""Quantities the presets watch that no device reports, computed in the writer's
transaction from the batch and what is stored: `lamp_fault` per circuit, a bin's
`bin_hours_to_full`, and a people counter's `people_ratio_last_week`."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from ingest.store import Conn, ReadingRow
from rules.derived import lamp_fault, ratio_to_last_week
from rules.forecast import fill_forecast, hours_to_full

Derived = tuple[float, str, str, str, float]  # (time_s, dev_eui, quantity, channel, value)
CIRCUIT = ("circuit_state", "relay_state")
FORECAST_DAYS = 7


async def derived_readings(
    conn: Conn, wanted: set[str], readings: Sequence[ReadingRow]
) -> list[Derived]:
    out: list[Derived] = []
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
