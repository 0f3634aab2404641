"""Streetlight controllers: their circuits switched on at sunset and off at sunrise
(computed for the city's latitude and date), dimmed to half power in the middle of the
night, lamps that fail, and the controller's meter (power, current, cumulative energy).

Assumptions, not measurements: photocell and astronomical-clock switching spreads a
fleet's switching over a few minutes around sunset and sunrise (σ 90 s); night dimming
runs from 23:00 to 05:00 local time at 50 %; one lamp per circuit; an LED lamp fails
with probability 2 % a year."""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from simulators.sun import sun_times

DIM_FROM_H = 23.0
DIM_TO_H = 5.0
DIM_LEVEL = 0.5
LAMP_FAILURES_PER_YEAR = 0.02
SWITCH_SPREAD_S = 90.0
YEAR_S = 365.25 * 86400


@lru_cache(maxsize=4096)
def night(day: int, latitude: float, longitude: float, utc_offset_s: float) -> tuple[float, ...]:
    """(sunset, dimming start, dimming end, next sunrise) of the night beginning on local
    day number `day` (days since 1970-01-01), as Unix seconds."""
    sunset = _sun(day, latitude, longitude)[1]
    sunrise = _sun(day + 1, latitude, longitude)[0]
    midnight = day * 86400.0 - utc_offset_s
    return sunset, midnight + DIM_FROM_H * 3600, midnight + 86400 + DIM_TO_H * 3600, sunrise


def _sun(day: int, latitude: float, longitude: float) -> tuple[float, float]:
    times = sun_times(date(1970, 1, 1) + timedelta(days=day), latitude, longitude)
    if times is None:  # polar day or night: keep the lights on a fixed 12 h program
        return day * 86400.0 + 6 * 3600.0, day * 86400.0 + 18 * 3600.0
    return times


@dataclass(slots=True)
class Cabinet:
    """One streetlight controller: its lamps and meter. Times are Unix seconds."""

    circuits: int
    lamp_w: float
    on_offset_s: float
    off_offset_s: float
    dim_offset_s: float
    lamp_failures_s: list[float]
    energy_wh: float
    last_s: float
    power_w: float = 0.0
    circuit_mask: int = 0
    # (from, until, lit, dimmed): the state holds between two switchings
    held: tuple[float, float, bool, bool] = (0.0, 0.0, False, False)


def make_cabinet(rng: random.Random, start_s: float) -> Cabinet:
    circuits = rng.choice((1, 1, 1, 1, 2, 2, 4))
    rate_per_s = LAMP_FAILURES_PER_YEAR / YEAR_S
    failures = sorted(start_s + rng.expovariate(rate_per_s) for _ in range(circuits))

    def spread() -> float:
        return max(-300.0, min(300.0, rng.gauss(0.0, SWITCH_SPREAD_S)))

    return Cabinet(
        circuits=circuits,
        lamp_w=rng.choice((35.0, 50.0, 70.0, 90.0)),
        on_offset_s=spread(),
        off_offset_s=spread(),
        dim_offset_s=rng.uniform(-600.0, 600.0),
        lamp_failures_s=[t for t in failures if t < start_s + 10 * YEAR_S],
        energy_wh=rng.uniform(1e5, 5e6),
        last_s=start_s,
    )


def switch_times(
    cabinet: Cabinet, day: int, latitude: float, longitude: float, utc_offset_s: float
) -> tuple[float, float, float, float]:
    """(on, dim, undim, off) of the night beginning on local day `day`: on at sunset, dim
    and undim at the local clock times (within the night), off at the next sunrise."""
    sunset, dim_from, dim_to, sunrise = night(day, latitude, longitude, utc_offset_s)
    on, off = sunset + cabinet.on_offset_s, sunrise + cabinet.off_offset_s
    dim = min(max(on, dim_from + cabinet.dim_offset_s), off)
    undim = max(min(off, dim_to + cabinet.dim_offset_s), on)
    return on, dim, undim, off


def meter(
    cabinet: Cabinet, lit: bool, dimmed: bool, t_s: float, rng: random.Random
) -> dict[str, float]:
    """What the controller reads at `t_s`, energy integrated at the power held since the
    previous reading; `circuit_mask` has bit c set when circuit c + 1 is switched on."""
    random = rng.random
    elapsed_s = t_s - cabinet.last_s
    cabinet.energy_wh += cabinet.power_w * (elapsed_s if elapsed_s > 0.0 else 0.0) / 3600.0
    cabinet.last_s = t_s
    level = (DIM_LEVEL if dimmed else 1.0) if lit else 0.0
    alive = cabinet.circuits - bisect.bisect_right(cabinet.lamp_failures_s, t_s)  # lamps lit
    # rng.uniform(a, b) is a + (b - a) * random(): written out, the same floats
    power_w = alive * cabinet.lamp_w * level * (0.97 + (1.03 - 0.97) * random())
    cabinet.power_w = power_w
    cabinet.circuit_mask = mask = (1 << cabinet.circuits) - 1 if lit else 0
    voltage_v = 230.0 + (random() + random() - 1.0) * 4.0
    if power_w > 0:
        power_factor = 0.92 + (0.98 - 0.92) * random()
        current_a = power_w / (voltage_v * power_factor)
    else:
        power_factor = current_a = 0.0
    return {
        "power_w": power_w,
        "voltage_v": voltage_v,
        "power_factor": power_factor,
        "current_a": current_a,
        "energy_wh": cabinet.energy_wh,
        "dim_pct": 100.0 * level,
        "circuit_mask": float(mask),
    }


def night_state(
    cabinet: Cabinet, t_s: float, latitude: float, longitude: float, utc_offset_s: float
) -> tuple[bool, bool, float]:
    """(lit, dimmed, time of the next switching) at `t_s`."""
    since, until, lit, dimmed = cabinet.held
    if since <= t_s < until:
        return lit, dimmed, until
    today = int((t_s + utc_offset_s) // 86400)
    lit = dimmed = False
    following, since = math.inf, -math.inf
    for day in (today - 1, today, today + 1):
        on, dim, undim, off = switch_times(cabinet, day, latitude, longitude, utc_offset_s)
        if on <= t_s < off:
            lit, dimmed = True, dim <= t_s < undim
        for x in (on, dim, undim, off):
            if t_s < x < following:
                following = x
            if since < x <= t_s:
                since = x
    cabinet.held = (since, following, lit, dimmed)
    return lit, dimmed, following
