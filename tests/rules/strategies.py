"""Hypothesis strategies for the engine tests: small rule tables and batches dense in
exact threshold edges, NaN values and duplicate times."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from rules.model import Rule, parse_rule
from rules.table import Batch, Device, RuleTable, compile_table, encode

DEVICES = [
    Device("00000000000000a1", "t1", "air_quality", "north", {"site": "school"}),
    Device("00000000000000a2", "t1", "air_quality", "south"),
    Device("00000000000000b1", "t1", "waste_bin", "north"),
]
LEVELS = [10.0, 20.0, 30.0]


@dataclass(frozen=True)
class Case:
    table: RuleTable
    times: list[float]
    devs: list[str]
    quantities: list[str]
    channels: list[str]
    values: list[float]

    def batch(self, start: int = 0, stop: int | None = None) -> Batch:
        s = slice(start, stop)
        return encode(
            self.table, self.times[s], self.devs[s], self.quantities[s], self.channels[s],
            self.values[s],
        )  # fmt: skip


@st.composite
def rule_dicts(draw: st.DrawFn, n: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["threshold", "threshold", "rate_of_change", "battery_low"]))
    direction = "below" if kind == "battery_low" else "above"
    if kind == "threshold":
        direction = draw(st.sampled_from(["above", "below"]))
    threshold = draw(st.sampled_from(LEVELS))
    band = draw(st.sampled_from([0.0, 5.0, 10.0]))
    return {
        "id": f"r{n}",
        "tenant_id": "t1",
        "kind": kind,
        "quantity": "battery_level"
        if kind == "battery_low"
        else draw(st.sampled_from(["pm10", "co2"])),
        "channel": draw(st.sampled_from(["", "", "a"])),
        "selector": draw(st.sampled_from([{}, {"device_class": "air_quality"}, {"zone": "north"}])),
        "direction": direction,
        "threshold": threshold,
        "clear_threshold": threshold - band if direction == "above" else threshold + band,
        "for_s": draw(st.sampled_from([0.0, 0.0, 2.0, 5.0])),
        "count": draw(st.sampled_from([1, 1, 2, 3])),
    }


@st.composite
def cases(draw: st.DrawFn, max_readings: int = 40) -> Case:
    rules: list[Rule] = [parse_rule(draw(rule_dicts(n))) for n in range(draw(st.integers(1, 4)))]
    table = compile_table(rules, DEVICES)
    n = draw(st.integers(0, max_readings))
    edges = [*LEVELS, 0.0, 5.0, 15.0, 25.0, 35.0, 40.0, math.nan]
    value = st.one_of(st.sampled_from(edges), st.floats(0, 40, allow_nan=False))
    times = sorted(draw(st.lists(st.integers(0, 30), min_size=n, max_size=n)))
    return Case(
        table,
        [float(t) for t in times],
        [draw(st.sampled_from(DEVICES)).dev_eui for _ in range(n)],
        [draw(st.sampled_from(["pm10", "co2", "battery_level"])) for _ in range(n)],
        [draw(st.sampled_from(["", "a"])) for _ in range(n)],
        [draw(value) for _ in range(n)],
    )


def same_state(a: Any, b: Any) -> bool:
    return all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True) for f in a.__slots__)
