"""The engine's timer side: pending "for at least D" conditions that come due between
readings, and silent devices. Both take `now` as an argument and read no clock."""

from __future__ import annotations

import numpy as np

from rules.state import State, Transitions, ordered
from rules.table import SILENCE, FloatArray, RuleTable


def due_at(table: RuleTable, state: State) -> FloatArray:
    """Per pair, when its pending run fires if no reading breaks it first (NaN if none):
    pending_since + for_s once the run has `count` readings."""
    rule = table.pair_rule
    ready = ~state.active & (state.streak >= table.count[rule])
    return np.where(ready, state.pending_since + table.for_s[rule], np.nan)


def due(table: RuleTable, state: State, now_s: float) -> tuple[State, Transitions]:
    """Fire every pending run whose due time is at or before `now_s`, at its due time:
    the same transition the next reading would have produced (kernels, hold semantics)."""
    when = due_at(table, state)
    go = np.flatnonzero(when <= now_s)
    new = state.copy()
    new.active[go] = True
    new.fired_at[go] = when[go]
    new.pending_since[go] = np.nan
    new.pending_value[go] = np.nan
    new.streak[go] = 0
    fired = ordered(go, np.ones(go.size, bool), when[go], state.pending_value[go], go)
    return new, fired


def next_due(table: RuleTable, state: State) -> float:
    """The earliest due time, for the bridge's timer to sleep until (NaN: nothing pending)."""
    when = due_at(table, state)
    return float(np.nanmin(when)) if np.any(~np.isnan(when)) else float("nan")


def silent(
    table: RuleTable, state: State, last_seen_s: FloatArray, now_s: float
) -> tuple[State, Transitions]:
    """Silence rules over the devices' last uplink times (index = table device, NaN =
    never seen, which neither fires nor clears). A device silent for at least for_s
    fires at last_seen + for_s; one heard since clears at its last_seen."""
    pairs = np.flatnonzero(table.kind[table.pair_rule] == SILENCE)
    seen = last_seen_s[table.pair_device[pairs]]
    limit = table.for_s[table.pair_rule[pairs]]
    quiet = now_s - seen >= limit
    heard = now_s - seen < limit
    was = state.active[pairs]
    fire, clear = pairs[quiet & ~was], pairs[heard & was]
    new = state.copy()
    new.active[fire], new.active[clear] = True, False
    fire_t = (seen + limit)[quiet & ~was]
    new.fired_at[fire], new.fired_at[clear] = fire_t, np.nan
    return new, ordered(
        np.concatenate([fire, clear]),
        np.concatenate([np.ones(fire.size, bool), np.zeros(clear.size, bool)]),
        np.concatenate([fire_t, seen[heard & was]]),
        np.full(fire.size + clear.size, np.nan),
        np.concatenate([fire, clear]),
    )
