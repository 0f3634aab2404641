"""Simulated time against wall time: one mapping for the three time modes.

- real time: speed 1, the simulation starts now;
- accelerated: speed N (1440 = a day in a minute), starting now or at a given time;
- backfill: speed infinite, timestamps in the past, published as fast as possible.

Generation never reads a clock; only the publisher asks the Clock when to send."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

NS = 1_000_000_000
A_DAY_IN_A_MINUTE = 1440.0


@dataclass(slots=True)
class Clock:
    """Maps a simulated time (Unix ns) to the monotonic wall time it is due at."""

    sim_start_ns: int
    speed: float = 1.0
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall_start_s: float = field(default=math.nan)

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed must be positive (math.inf for backfill), got {self.speed}")
        if math.isnan(self.wall_start_s):
            self.wall_start_s = self.monotonic()

    @property
    def backfill(self) -> bool:
        return math.isinf(self.speed)

    def due_s(self, sim_ns: int) -> float:
        """The wall time (monotonic seconds) at which `sim_ns` is due."""
        if self.backfill:
            return self.wall_start_s
        return self.wall_start_s + (sim_ns - self.sim_start_ns) / NS / self.speed

    def wait_until(self, sim_ns: int) -> None:
        delay = self.due_s(sim_ns) - self.monotonic()
        if delay > 0:
            self.sleep(delay)

    def sim_now_ns(self) -> int:
        """The simulated time the wall clock has reached (the start, in backfill)."""
        if self.backfill:
            return self.sim_start_ns
        return self.sim_start_ns + int((self.monotonic() - self.wall_start_s) * self.speed * NS)


def parse_speed(text: str) -> float:
    """`1`, `60`, `1440`, or `backfill` / `inf` for as fast as possible."""
    if text.strip().lower() in ("backfill", "inf", "max"):
        return math.inf
    return float(text)
