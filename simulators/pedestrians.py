"""Pedestrian flows at counting points: by hour, weekday, Saturday and Sunday, scaled by
the zone and by city events (markets, festivals), counted in and out.

Hourly shapes are assumptions in the spirit of city-centre counters (Orléans, domain.md §7):
commute and lunch peaks on weekdays, a Saturday afternoon shopping peak, a quiet Sunday."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import date, timedelta

from simulators.scenario import CityEvent

PEOPLE_PER_H = {"centre": 900.0, "commercial": 700.0, "residential": 120.0, "park": 250.0,
                "traffic": 200.0, "industrial": 60.0}  # fmt: skip
WEEKDAY = (0.02, 0.01, 0.01, 0.01, 0.02, 0.05, 0.15, 0.45, 0.7, 0.5, 0.5, 0.7,
           0.95, 0.85, 0.6, 0.6, 0.7, 0.9, 1.0, 0.8, 0.5, 0.3, 0.15, 0.06)  # fmt: skip
SATURDAY = (0.05, 0.03, 0.02, 0.01, 0.01, 0.02, 0.04, 0.1, 0.25, 0.5, 0.75, 0.9,
            0.95, 0.9, 1.0, 1.1, 1.15, 1.1, 0.9, 0.7, 0.5, 0.4, 0.3, 0.15)  # fmt: skip
SUNDAY = (0.08, 0.05, 0.03, 0.01, 0.01, 0.01, 0.02, 0.04, 0.1, 0.2, 0.35, 0.45,
          0.5, 0.5, 0.5, 0.55, 0.55, 0.5, 0.4, 0.3, 0.2, 0.12, 0.08, 0.05)  # fmt: skip
PARK_WEEKEND = 2.2


def event_factor(events: Sequence[CityEvent], zone: str, local_s: float) -> float:
    day = date(1970, 1, 1) + timedelta(days=int(local_s // 86400))
    hour = local_s % 86400 / 3600
    factor = 1.0
    for e in events:
        when = e.on_date == day if e.on_date else day.weekday() in e.weekdays
        if e.zone == zone and when and e.start_hour <= hour < e.end_hour:
            factor *= e.factor
    return factor


def rate_per_h(zone_kind: str, local_s: float) -> float:
    """Expected passers-by per hour at a counter of this kind of zone."""
    weekday = (int(local_s // 86400) + 3) % 7
    hour = int(local_s % 86400 // 3600)
    shape = (WEEKDAY, WEEKDAY, WEEKDAY, WEEKDAY, WEEKDAY, SATURDAY, SUNDAY)[weekday][hour]
    park = PARK_WEEKEND if zone_kind == "park" and weekday >= 5 else 1.0
    return PEOPLE_PER_H[zone_kind] * shape * park


def poisson(rng: random.Random, mean: float) -> int:
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def count(
    rng: random.Random, zone_kind: str, zone: str, events: Sequence[CityEvent],
    local_s: float, period_s: float, scale: float,
) -> tuple[int, int]:  # fmt: skip
    """(in, out) during the period ending at `local_s`: inbound in the morning, outbound in
    the evening."""
    middle = local_s - period_s / 2
    mean = rate_per_h(zone_kind, middle) * scale * event_factor(events, zone, middle)
    total = poisson(rng, mean * period_s / 3600)
    hour = middle % 86400 / 3600
    inbound = 0.65 if 6 <= hour < 11 else 0.35 if 16 <= hour < 21 else 0.5
    people_in = (
        sum(1 for _ in range(total) if rng.random() < inbound)
        if total < 64
        else max(
            0,
            min(
                total, round(rng.gauss(total * inbound, math.sqrt(total * inbound * (1 - inbound))))
            ),
        )
    )
    return people_in, total - people_in
