"""A pytest fixture for users' CI: run a scenario against the broker, wait until the
backend has stored it, assert on the result.

    def test_the_city_is_stored(urbanpulse_city):
        run = urbanpulse_city.run("scenarios/small-town.yaml", hours=2)
        assert run.stats["uplinks"] >= run.uplinks

Broker and database come from the URBANPULSE_* settings (see README); the backend
(`urbanpulse ingest`) must be running. Enabled with `-p simulators.pytest_plugin` or the
`pytest11` entry point of the urbanpulse package."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from simulators.clock import Clock
from simulators.faults import SimEvent
from simulators.publish import Publisher
from simulators.run import choose_start, publish_events, scenario_events
from simulators.scenario import load_scenario
from urbanpulse.settings import Settings
from urbanpulse.stats import read_stats

NS = 1_000_000_000


@dataclass
class CityRun:
    """What was published, and the backend's counts once settled."""

    published: int
    uplinks: int
    by_class: dict[str, int] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)


def wait_settled(
    database_url: str, at_least_uplinks: int, timeout_s: float = 120.0, quiet_s: float = 2.0
) -> dict[str, int]:
    """The backend's counts once it holds `at_least_uplinks` uplinks and nothing changed for
    `quiet_s`; TimeoutError with the last counts otherwise."""
    deadline = time.monotonic() + timeout_s
    last: dict[str, int] = {}
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        counts = asyncio.run(read_stats(database_url))
        if counts != last:
            last, stable_since = counts, time.monotonic()
        elif counts["uplinks"] >= at_least_uplinks and time.monotonic() - stable_since >= quiet_s:
            return counts
        time.sleep(0.2)
    raise TimeoutError(
        f"backend not settled after {timeout_s} s: {last}, expected {at_least_uplinks} uplinks"
    )


class CityRunner:
    def __init__(self, settings: Settings, topic_prefix: str = "") -> None:
        self.settings = settings
        self.topic_prefix = topic_prefix

    def run(
        self, scenario: str | Path, seed: int = 1, hours: float = 1.0, speed: float = math.inf,
        start: str | None = None, fmt: str = "json", settle_timeout_s: float = 120.0,
    ) -> CityRun:  # fmt: skip
        """Publish `hours` of the scenario (backfill by default), then wait until settled.
        `uplinks` counts the distinct uplinks the backend must store at least (duplicates
        and redeliveries excluded)."""
        loaded = load_scenario(scenario)
        duration_s = hours * 3600
        began = choose_start(loaded, start, speed, duration_s)
        seen: set[str] = set()
        by_class: dict[str, int] = {}

        def note(event: SimEvent) -> None:
            if (
                event.kind == "up"
                and event.fault != "retransmission"
                and event.dedup_id not in seen
            ):
                seen.add(event.dedup_id)
                by_class[event.device_class] = by_class.get(event.device_class, 0) + 1

        events = scenario_events(loaded, seed, began, duration_s, fmt, self.topic_prefix)
        publisher = Publisher(self.settings.mqtt_host, self.settings.mqtt_port)
        try:
            sent = publish_events(
                publisher, events, Clock(int(began.timestamp()) * NS, speed), note
            )
        finally:
            publisher.close()
        stats = wait_settled(self.settings.database_url, len(seen), settle_timeout_s)
        return CityRun(sent, len(seen), by_class, stats)


@pytest.fixture
def urbanpulse_city() -> CityRunner:
    """A CityRunner on the broker and database of the URBANPULSE_* settings."""
    return CityRunner(Settings())
