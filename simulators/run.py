"""Running a scenario: the event stream (engine, then publication faults), published on
MQTT as the clock says (real time, accelerated or backfill), optionally recorded.

The entry points `urbanpulse simulate --scenario`, `urbanpulse record --scenario` and the
demo call these with plain arguments."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from simulators.clock import Clock
from simulators.engine import Engine
from simulators.faults import SimEvent, disorder
from simulators.publish import Publisher
from simulators.recording import Recorder
from simulators.scenario import Scenario, load_scenario

NS = 1_000_000_000


def choose_start(
    scenario: Scenario, start: str | None, speed: float, duration_s: float
) -> datetime:
    """`start` if given (RFC 3339 or `now`), else the scenario's, else now (real time and
    accelerated) or now minus the duration (backfill: the past, as fast as possible)."""
    now = datetime.now(UTC).replace(microsecond=0)
    if start == "now":
        return now
    if start:
        return datetime.fromisoformat(start)
    if scenario.start is not None:
        return scenario.start
    return now - timedelta(seconds=duration_s) if math.isinf(speed) else now


def scenario_events(
    scenario: Scenario, seed: int, start: datetime, duration_s: float, fmt: str = "json",
    topic_prefix: str = "",
) -> Iterator[SimEvent]:  # fmt: skip
    """Every event of the run, in publication order, faults included."""
    engine = Engine(scenario, seed, start, fmt, topic_prefix)
    return disorder(engine.events(duration_s), scenario.faults, seed)


def publish_events(
    publisher: Publisher, events: Iterable[SimEvent], clock: Clock,
    on_event: Callable[[SimEvent], None] | None = None, stop: Callable[[], bool] = lambda: False,
) -> int:  # fmt: skip
    """Publish each event when the clock says it is due; returns how many were sent."""
    sent = 0
    for event in events:
        if stop():
            break
        clock.wait_until(event.at_ns)
        publisher.publish(event.topic, event.payload)
        sent += 1
        if on_event is not None:
            on_event(event)
        if len(publisher.pending) >= 20000:
            publisher.flush()
    publisher.flush()
    return sent


def run_scenario(
    host: str, port: int, scenario_path: str, seed: int, start: str | None, speed: float,
    duration_s: float, fmt: str = "json", topic_prefix: str = "", record_path: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """`urbanpulse simulate --scenario FILE`: publish a scenario, return a summary."""
    scenario = load_scenario(scenario_path)
    began = choose_start(scenario, start, speed, duration_s)
    events = scenario_events(scenario, seed, began, duration_s, fmt, topic_prefix)
    clock = Clock(int(began.timestamp()) * NS, speed)
    counts: dict[str, int] = {}
    recorder = Recorder.create(Path(record_path), f"scenario {scenario.name} seed {seed}",
                               clock.sim_start_ns) if record_path else None  # fmt: skip

    def count(event: SimEvent) -> None:
        counts[event.kind] = counts.get(event.kind, 0) + 1
        if recorder is not None:
            recorder.write(event.at_ns, event.topic, event.payload)

    publisher = Publisher(host, port)
    wall = time.monotonic()
    try:
        sent = publish_events(publisher, events, clock, count)
    finally:
        publisher.close()
        if recorder is not None:
            recorder.close()
    return {"scenario": scenario.name, "seed": seed, "start": began.isoformat(),
            "published": sent, "by_kind": counts, "seconds": round(time.monotonic() - wall, 3)}  # fmt: skip


def record_scenario(
    scenario_path: str, seed: int, start: str | None, duration_s: float, fmt: str,
    out_path: str, topic_prefix: str = "",
) -> dict[str, Any]:  # fmt: skip
    """`urbanpulse record --scenario FILE --out FILE`: the run written to a file, not published."""
    scenario = load_scenario(scenario_path)
    began = choose_start(scenario, start, math.inf, duration_s)
    start_ns = int(began.timestamp()) * NS
    recorder = Recorder.create(Path(out_path), f"scenario {scenario.name} seed {seed}", start_ns)
    written = 0
    try:
        for event in scenario_events(scenario, seed, began, duration_s, fmt, topic_prefix):
            recorder.write(event.at_ns, event.topic, event.payload)
            written += 1
    finally:
        recorder.close()
    return {"recorded": written, "file": out_path, "start": began.isoformat()}
