"""`urbanpulse bench simulate`: how fast the simulator generates events, envelopes
included, on one core; one JSON line. The bridge commits 3 000-6 000 uplinks/s here, so
the simulator should not be the bottleneck of a benchmark."""

from __future__ import annotations

import time
from itertools import islice
from typing import Any

from simulators.run import scenario_events
from simulators.scenario import load_scenario


def run(scenario_path: str, events: int, seed: int = 1, fmt: str = "json") -> dict[str, Any]:
    """Generate `events` events of the scenario from its start (a day at most)."""
    scenario = load_scenario(scenario_path)
    assert scenario.start is not None, "a benchmark scenario fixes its start"
    began = time.perf_counter()
    stream = scenario_events(scenario, seed, scenario.start, 86400.0, fmt)
    setup_s = time.perf_counter() - began
    generated = size = 0
    for event in islice(stream, events):
        generated += 1
        size += len(event.payload)
    seconds = time.perf_counter() - began - setup_s
    return {
        "benchmark": "simulate", "scenario": scenario.name, "devices": scenario.device_count,
        "format": fmt, "events": generated, "seconds": round(seconds, 3),
        "events_per_s": round(generated / seconds), "mean_event_bytes": round(size / max(generated, 1)),
        "setup_s": round(setup_s, 3),
    }  # fmt: skip
