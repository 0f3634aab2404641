"""`urbanpulse bench rules`: reading × rule evaluations per second of the vectorized engine
and of the per-reading reference, in one run on the same synthetic city, with the speedup.

The reference runs on the same batch by default. On a smaller sample (`reference_readings`)
it looks slower than it is: each reading then meets pairs whose state it has to load,
a fixed cost that a full batch spreads over several readings per pair.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rules import kernels, reference
from rules.model import Rule, parse_rule
from rules.state import new_state
from rules.table import Batch, Device, RuleTable, compile_table

# (class, share of the fleet, quantities it reports with a typical level)
FLEET = (
    ("streetlight", 0.7, {"active_power": 60.0, "current": 0.3, "voltage": 230.0}),
    ("waste_bin", 0.15, {"filling_level": 50.0, "battery_level": 60.0}),
    ("air_quality", 0.1, {"pm10": 25.0, "no2": 40.0, "co2": 700.0}),
    ("people_counter", 0.05, {"people_in": 40.0, "battery_level": 60.0}),
)


def city(devices: int) -> list[Device]:
    shares = np.cumsum([share for _, share, _ in FLEET])
    out = []
    for i in range(devices):
        cls = FLEET[int(np.searchsorted(shares, (i + 0.5) / devices))][0]
        out.append(Device(f"{i:016x}", "bench", cls, f"z{i % 20}"))
    return out


def rule_set(count: int, rng: np.random.Generator) -> list[Rule]:
    """Threshold rules with hysteresis, some 'for D', some 'N in a row', and rates."""
    rules = []
    for n in range(count):
        cls, _, quantities = FLEET[n % len(FLEET)]
        quantity, level = list(quantities.items())[int(rng.integers(len(quantities)))]
        threshold = level * float(rng.uniform(1.5, 2.0))  # alerts are rare in a healthy fleet
        rate = n % 7 == 6
        rules.append(
            parse_rule(
                {
                    "id": f"bench-{n}",
                    "tenant_id": "bench",
                    "kind": "rate_of_change" if rate else "threshold",
                    "quantity": quantity,
                    "selector": {"device_class": cls},
                    "threshold": threshold,
                    "clear_threshold": threshold * (1.0 if rate else 0.9),
                    "for_s": [0.0, 300.0, 900.0][n % 3],
                    "count": [1, 1, 3][n % 3],
                }
            )
        )
    return rules


def synthetic_batch(
    table: RuleTable, devices: list[Device], count: int, rng: np.random.Generator
) -> Batch:
    """One hour of readings in time order: noisy levels around each quantity's typical one."""
    device = rng.integers(0, len(devices), count)
    keys = {k[0]: i for i, k in enumerate(table.keys)}
    by_class = {cls: [keys.get(q, -1) for q in qs] for cls, _, qs in FLEET}
    level = {cls: list(qs.values()) for cls, _, qs in FLEET}
    pick = rng.integers(0, 6, count)
    classes = [d.device_class or "" for d in devices]
    key = np.array(
        [
            by_class[classes[d]][p % len(by_class[classes[d]])]
            for d, p in zip(device, pick, strict=True)
        ]
    )
    base = np.array(
        [level[classes[d]][p % len(level[classes[d]])] for d, p in zip(device, pick, strict=True)]
    )
    return Batch(
        np.sort(rng.uniform(0.0, 3600.0, count)),
        device.astype(np.int64),
        key.astype(np.int64),
        base * rng.lognormal(0.0, 0.25, count),
    )


def _rate(evaluations: float, seconds: float) -> float:
    return evaluations / seconds if seconds > 0 else float("inf")


def run(
    readings: int = 200_000, rules: int = 100, reference_readings: int | None = None
) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    devices = city(max(100, readings // 20))
    table = compile_table(rule_set(rules, rng), devices)
    batch = synthetic_batch(table, devices, readings, rng)
    state = new_state(table.pairs)

    kernels.evaluate(table, state, batch)  # warm-up: first-touch of the arrays
    started = time.perf_counter()
    _, fast = kernels.evaluate(table, state, batch)
    fast_s = time.perf_counter() - started
    matched = int(kernels.match(table, batch)[0].size)

    k = readings if reference_readings is None else min(reference_readings, readings)
    sample = Batch(batch.time_s[:k], batch.device[:k], batch.key[:k], batch.value[:k])
    started = time.perf_counter()
    reference.evaluate(table, state, sample)
    slow_s = time.perf_counter() - started

    vectorized = _rate(readings * rules, fast_s)
    per_reading = _rate(k * rules, slow_s)
    return {
        "benchmark": "rules",
        "readings": readings,
        "rules": rules,
        "devices": len(devices),
        "pairs": table.pairs,
        "matched_events": matched,
        "transitions": len(fast),
        "vectorized_s": round(fast_s, 4),
        "vectorized_evaluations_per_s": round(vectorized),
        "vectorized_matched_events_per_s": round(_rate(matched, fast_s)),
        "reference_readings": k,
        "reference_evaluations_per_s": round(per_reading),
        "speedup": round(vectorized / per_reading, 1),
    }
