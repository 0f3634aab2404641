"""Time modes are one mapping; recordings give back what was recorded."""

from __future__ import annotations

import math
from itertools import islice
from pathlib import Path

from simulators.clock import A_DAY_IN_A_MINUTE, Clock, parse_speed
from simulators.recording import read_recording
from simulators.run import record_scenario, scenario_events
from simulators.scenario import load_scenario

NS = 1_000_000_000
SMALL_TOWN = Path(__file__).resolve().parents[2] / "scenarios" / "small-town.yaml"


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_real_time_accelerated_and_backfill_are_one_mapping() -> None:
    for speed, waited_s in ((1.0, 3600.0), (A_DAY_IN_A_MINUTE, 2.5), (math.inf, 0.0)):
        fake = FakeTime()
        clock = Clock(0, speed, fake.monotonic, fake.sleep)
        clock.wait_until(3600 * NS)
        assert sum(fake.slept) == waited_s
    assert parse_speed("backfill") == math.inf
    assert parse_speed("60") == 60.0


def test_a_recording_gives_back_the_events_in_order(tmp_path: Path) -> None:
    out = tmp_path / "run.jsonl"
    result = record_scenario(str(SMALL_TOWN), 5, None, 3600.0, "json", str(out))
    scenario = load_scenario(SMALL_TOWN)
    assert scenario.start is not None
    expected = list(islice(scenario_events(scenario, 5, scenario.start, 3600.0), 10**6))
    header, messages = read_recording(out)
    got = list(messages)

    assert result["recorded"] == len(expected) == len(got)
    assert [(t, p) for _, t, p in got] == [(e.topic, e.payload) for e in expected]
    assert got[0][0] == (expected[0].at_ns - header["start_ns"]) / NS
