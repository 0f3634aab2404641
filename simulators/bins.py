"""Waste bins: fill at a rate set by the zone and the weekday, mostly in the daytime, and
are emptied by collection rounds (the zone's days and hour, bins later along the route).

Assumed rates (% of the bin per hour, a city-centre bin being full in about two days)
calibrated on the Montbéliard / Rennes deployments' "collect above 80 %" practice."""

from __future__ import annotations

import random
from dataclasses import dataclass

from simulators.scenario import Zone

FILL_PCT_PER_H = {"centre": 2.0, "commercial": 1.5, "residential": 0.9, "park": 0.6,
                  "traffic": 0.7, "industrial": 0.5}  # fmt: skip
WEEKEND_FACTOR = {"centre": 1.3, "commercial": 0.6, "residential": 1.2, "park": 2.0,
                  "traffic": 0.8, "industrial": 0.3}  # fmt: skip
# share of the daily deposits per local hour, times 24 (mean 1)
HOURLY = (0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.7, 1.2, 1.5, 1.4, 1.4, 1.5,
          1.7, 1.6, 1.4, 1.4, 1.5, 1.7, 1.8, 1.6, 1.2, 0.8, 0.5, 0.25)  # fmt: skip
ROUTE_S = 3 * 3600.0


@dataclass(slots=True)
class Bin:
    """One bin and its sensor; times are local seconds (Unix seconds + UTC offset)."""

    zone: Zone
    height_mm: float
    rate_factor: float
    route_offset_s: float
    fill_pct: float
    last_local_s: float
    battery_pct: float


def make_bin(rng: random.Random, zone: Zone, start_local_s: float) -> Bin:
    return Bin(
        zone=zone,
        height_mm=rng.choice((1100.0, 1300.0, 1600.0, 2200.0)),
        rate_factor=rng.lognormvariate(0.0, 0.35),
        route_offset_s=rng.uniform(0.0, ROUTE_S),
        fill_pct=rng.uniform(0.0, 60.0),
        last_local_s=start_local_s,
        battery_pct=rng.uniform(55.0, 100.0),
    )


def _last_collection(b: Bin, local_s: float) -> float | None:
    """The local time of the latest collection at or before `local_s`, within 8 days."""
    if not b.zone.collection_days:
        return None
    day = int(local_s // 86400)
    for d in range(day, day - 8, -1):
        at = d * 86400 + b.zone.collection_hour * 3600 + b.route_offset_s
        if (d + 3) % 7 in b.zone.collection_days and at <= local_s:  # 1970-01-01 was a Thursday
            return at
    return None


def fill_rate_pct_per_h(b: Bin, local_s: float) -> float:
    weekday = (int(local_s // 86400) + 3) % 7
    factor = WEEKEND_FACTOR[b.zone.kind] if weekday >= 5 else 1.0
    hour = int(local_s % 86400 // 3600)
    return FILL_PCT_PER_H[b.zone.kind] * factor * HOURLY[hour] * b.rate_factor


def advance(b: Bin, local_s: float, rng: random.Random) -> dict[str, float]:
    """The bin at `local_s`: emptied if a round passed since the last reading, then filled."""
    since = previous = b.last_local_s
    collected = _last_collection(b, local_s)
    if collected is not None and collected > b.last_local_s:
        b.fill_pct = rng.uniform(0.0, 3.0)
        since = collected
    step_s = 900.0
    t = since
    while t < local_s:  # the fill rate changes by the hour: integrate in quarter hours
        dt = min(step_s, local_s - t)
        b.fill_pct += fill_rate_pct_per_h(b, t) * dt / 3600 * rng.uniform(0.6, 1.4)
        t += dt
    b.fill_pct = min(b.fill_pct, 100.0)
    b.last_local_s = local_s
    b.battery_pct = max(1.0, b.battery_pct - (local_s - previous) / (365 * 86400) * 12.0)
    return {
        "fill_pct": b.fill_pct,
        "distance_mm": max(30.0, b.height_mm * (1 - b.fill_pct / 100)),
        "battery_pct": b.battery_pct,
        "battery_v": 2.4 + 1.2 * b.battery_pct / 100,
        "tilted": 0.0,
    }
