"""Timers: a 'for 10 minutes' condition fires on time across a bridge restart, and
silent devices fire and clear."""

from __future__ import annotations

import numpy as np

from rules import kernels, timers
from rules.model import parse_rule
from rules.state import from_rows, new_state, to_rows, transition_rows
from rules.table import Device, compile_table, encode

DEV = Device("00000000000000a1", "t1", "air_quality")
FOR_10_MIN = {
    "id": "r",
    "tenant_id": "t1",
    "kind": "threshold",
    "quantity": "co2",
    "threshold": 1500,
    "for_s": 600,
}


def _batch(table: object, times: list[float], values: list[float]) -> object:
    n = len(times)
    return encode(table, times, [DEV.dev_eui] * n, ["co2"] * n, [""] * n, values)  # type: ignore[arg-type]


def test_restart_in_the_middle_of_for_10_minutes_fires_on_time() -> None:
    t0 = 1_790_000_000.0
    table = compile_table([parse_rule(FOR_10_MIN)], [DEV])
    state, out = kernels.evaluate(table, new_state(1), _batch(table, [t0, t0 + 240], [1600, 1700]))  # type: ignore[arg-type]
    assert len(out) == 0
    rows = to_rows(table, state)  # committed with the readings; the bridge then dies

    restarted = compile_table([parse_rule(FOR_10_MIN)], [DEV])
    state = from_rows(restarted, rows)
    assert timers.next_due(restarted, state) == t0 + 600
    state, early = timers.due(restarted, state, t0 + 599.9)
    assert len(early) == 0
    state, fired = timers.due(restarted, state, t0 + 600)
    assert transition_rows(restarted, fired) == [("r", DEV.dev_eui, "", "fired", t0 + 600, 1700.0)]
    # the next uplink, still high, does not fire again; a low one clears
    state, out = kernels.evaluate(
        restarted, state, _batch(restarted, [t0 + 900, t0 + 1200], [1650, 900])
    )  # type: ignore[arg-type]
    assert transition_rows(restarted, out) == [("r", DEV.dev_eui, "", "cleared", t0 + 1200, 900.0)]
    assert np.isnan(timers.next_due(restarted, state))


def test_without_timer_the_next_reading_fires_at_the_same_time() -> None:
    table = compile_table([parse_rule(FOR_10_MIN)], [DEV])
    state, _ = kernels.evaluate(table, new_state(1), _batch(table, [0, 240], [1600, 1700]))  # type: ignore[arg-type]
    _, out = kernels.evaluate(table, state, _batch(table, [900], [1000]))  # type: ignore[arg-type]
    # held from 0 until the low reading at 900: fired at 600, cleared at 900
    assert transition_rows(table, out) == [
        ("r", DEV.dev_eui, "", "fired", 600.0, 1700.0),
        ("r", DEV.dev_eui, "", "cleared", 900.0, 1000.0),
    ]


def test_a_condition_broken_before_its_time_never_fires() -> None:
    table = compile_table([parse_rule(FOR_10_MIN)], [DEV])
    state, out = kernels.evaluate(
        table, new_state(1), _batch(table, [0, 240, 599], [1600, 1700, 1500])
    )  # type: ignore[arg-type]
    assert len(out) == 0
    assert np.isnan(timers.next_due(table, state))
    assert len(timers.due(table, state, 10_000)[1]) == 0


def test_silent_device_fires_then_clears_when_heard() -> None:
    rule = parse_rule({"id": "quiet", "tenant_id": "t1", "kind": "silence", "for_s": 3600})
    devices = [DEV, Device("00000000000000a2", "t1", "air_quality")]
    table = compile_table([rule], devices)
    state = new_state(table.pairs)
    seen = np.array([1000.0, np.nan])  # the second device was never heard: no alert
    state, out = timers.silent(table, state, seen, 4599.0)
    assert len(out) == 0
    state, out = timers.silent(table, state, seen, 4600.0)
    assert transition_rows(table, out) == [("quiet", DEV.dev_eui, "", "fired", 4600.0, None)]
    state, out = timers.silent(table, state, seen, 9000.0)
    assert len(out) == 0  # one alert, not one per tick
    state, out = timers.silent(table, state, np.array([8000.0, np.nan]), 9000.0)
    assert transition_rows(table, out) == [("quiet", DEV.dev_eui, "", "cleared", 8000.0, None)]
    assert not state.active.any()
