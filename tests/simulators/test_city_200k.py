"""The 200 000-inhabitant city produces the daily volume and the dusk and dawn bursts it
claims (0.8-2.9 M uplinks a day, domain.md §8), checked on its schedule and events."""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import islice
from pathlib import Path

import pytest

from simulators.engine import Engine
from simulators.run import scenario_events
from simulators.scenario import load_scenario
from simulators.sun import sun_times

CITY = Path(__file__).resolve().parents[2] / "scenarios" / "city-200k.yaml"
NS = 1_000_000_000
# the city's first events from its start, seed 1: publication time, kind, topic and bytes;
# a faster simulator must publish exactly these
PINNED_SHA256 = {
    ("json", 20_000): "797feed86bdfe036bd7234b5f5ed34f05ccd3ad04737dd1d8eeac805ac8590e9",
    ("protobuf", 5_000): "d13fafb0522afadbc6fe4d08833edc5223af35d120f77c6204e49601d08b0612",
}


@cache
def engine() -> Engine:
    scenario = load_scenario(CITY)
    assert scenario.start is not None
    return Engine(scenario, 1, scenario.start)


@cache
def per_minute() -> Counter[int]:
    e = engine()
    return Counter((t - e.start_ns) // (60 * NS) for t, _, _ in e.schedule(86400))


@pytest.mark.slow
def test_a_day_of_the_city_is_between_0_8_and_2_9_million_uplinks() -> None:
    total = sum(per_minute().values())
    assert 800_000 <= total <= 2_900_000, total


@pytest.mark.slow
def test_dusk_and_dawn_bring_bursts_of_hundreds_of_uplinks_a_second() -> None:
    e, minutes = engine(), per_minute()
    city, start = e.scenario.city, e.scenario.start
    assert start is not None
    sun = sun_times((start + timedelta(hours=12)).date(), city.latitude, city.longitude)
    assert sun is not None
    median = statistics.median(minutes[m] for m in range(1440))
    for moment in sun:
        minute = int(moment - e.start_ns / NS) // 60
        peak = max(minutes[m] for m in range(minute - 5, minute + 6))
        assert peak >= 5 * median, (moment, peak, median)
        assert peak / 60 >= 100  # events per second during the peak minute


def sunset_s() -> float:
    scenario = engine().scenario
    assert scenario.start is not None
    sun = sun_times((scenario.start + timedelta(hours=12)).date(), scenario.city.latitude,
                    scenario.city.longitude)  # fmt: skip
    assert sun is not None
    return sun[1]


@pytest.mark.slow
def test_the_dusk_burst_is_in_the_generated_events_too() -> None:
    sunset = sunset_s()
    fresh = Engine(engine().scenario, 1, datetime.fromtimestamp(sunset - 600, UTC))
    counts = Counter(ev.at_ns // (60 * NS) for ev in fresh.events(1200) if ev.kind == "up")
    assert counts[int(sunset) // 60] >= 5 * counts[int(sunset - 540) // 60]


@pytest.mark.parametrize(("fmt", "count"), list(PINNED_SHA256))
def test_the_city_publishes_the_same_bytes(fmt: str, count: int) -> None:
    scenario = engine().scenario
    assert scenario.start is not None
    h = hashlib.sha256()
    for e in islice(scenario_events(scenario, 1, scenario.start, 86400.0, fmt), count):
        h.update(f"{e.at_ns} {e.kind} {e.topic}\0".encode() + e.payload + b"\0")
    assert h.hexdigest() == PINNED_SHA256[fmt, count], "update the pinned digest and say why"
