"""The city the query benchmark loads, as a plan: its fleets cut to a budget of readings
over a span of days, its devices, and the SQL that generates a day of their readings,
hourly rollups and latest values inside PostgreSQL."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import Any

from simulators.scenario import Fleet, Scenario, Zone

DAY_S = 86_400
# Streetlight controllers are nine devices in ten; at their real half-hour cadence a year
# of them alone would be 1.6 billion readings. They take whatever the budget leaves once
# every other fleet reports at its scenario's pace.
STRETCHED_CLASS = "streetlight"
TENANTS = ("ville", "agglo-nord", "agglo-sud")
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
