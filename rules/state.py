"""Per-(rule, device) engine state as arrays, its rows for the database, and transitions.

State survives restarts by being saved with `to_rows` in the transaction that stores the
readings and loaded with `from_rows`: a pending "for at least D" keeps its `pending_since`,
so the timer (`kernels.due`) fires it at pending_since + D even across a restart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rules.table import BoolArray, FloatArray, IntArray, RuleTable

# (rule_id, dev_eui, active, pending_since, pending_value, streak, last_value, last_time,
#  fired_at); None stands for NaN, i.e. SQL NULL.
StateRow = tuple[
    str, str, bool, float | None, float | None, int, float | None, float | None, float | None
]
# (rule_id, dev_eui, channel, "fired" | "cleared", time_s, value)
TransitionRow = tuple[str, str, str, str, float, float | None]


@dataclass(frozen=True, slots=True)
class State:
    """Index p is the table's pair. `pending_since` is the start of the current run of
    readings meeting the condition while not active (NaN otherwise), `streak` its length
    and `pending_value` its last value; `last_value`/`last_time` are the last non-NaN raw
    reading; `fired_at` is when the open alert fired (NaN when not active)."""

    active: BoolArray
    pending_since: FloatArray
    pending_value: FloatArray
    streak: IntArray
    last_value: FloatArray
    last_time: FloatArray
    fired_at: FloatArray

    def copy(self) -> State:
        return State(*(np.array(getattr(self, f)) for f in self.__slots__))


@dataclass(frozen=True, slots=True)
class Transitions:
    """Alerts fired or cleared, in time order; `value` is the value the condition was
    tested on (the rate for rate rules), NaN for silence."""

    pair: IntArray
    fired: BoolArray
    time_s: FloatArray
    value: FloatArray

    def __len__(self) -> int:
        return int(self.pair.size)


def block(columns: list[npt.NDArray[Any]], spare: int = 0) -> list[npt.NDArray[Any]]:
    """Copies of `columns`, each with `spare` more (unset) slots at its end, in one buffer:
    one large allocation takes far fewer page faults than many 2 MB ones (numpy asks for
    huge pages from 4 MiB on), and on a virtual machine the faults of a fresh 2 MB array
    cost more than copying it."""
    sizes = [-(-(c.size + spare) * c.itemsize // 64) * 64 for c in columns]
    buffer = np.empty(sum(sizes), np.uint8)
    out, offset = [], 0
    for c, size in zip(columns, sizes, strict=True):
        view = buffer[offset : offset + (c.size + spare) * c.itemsize].view(c.dtype)
        view[: c.size] = c
        out.append(view)
        offset += size
    return out


def new_state(pairs: int) -> State:
    nan = np.full(pairs, np.nan)
    return State(
        np.zeros(pairs, bool), nan, nan.copy(), np.zeros(pairs, np.int64), nan.copy(),
        nan.copy(), nan.copy(),
    )  # fmt: skip


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def to_rows(table: RuleTable, state: State) -> list[StateRow]:
    """One row per pair that ever saw a reading or fired; fresh pairs need no row."""
    seen = ~np.isnan(state.last_time) | state.active
    rows: list[StateRow] = []
    for p in np.flatnonzero(seen).tolist():
        rows.append(
            (
                table.rules[table.pair_rule[p]].id,
                table.dev_euis[table.pair_device[p]],
                bool(state.active[p]),
                _opt(state.pending_since[p]),
                _opt(state.pending_value[p]),
                int(state.streak[p]),
                _opt(state.last_value[p]),
                _opt(state.last_time[p]),
                _opt(state.fired_at[p]),
            )
        )
    return rows


def from_rows(table: RuleTable, rows: Iterable[StateRow]) -> State:
    """State for the table's pairs; rows of rules or devices no longer in it are dropped."""
    rule_index = {r.id: i for i, r in enumerate(table.rules)}
    dev_index = {e: i for i, e in enumerate(table.dev_euis)}
    state = new_state(table.pairs)
    for rule_id, dev_eui, active, pending, held, streak, value, time, fired in rows:
        r, d = rule_index.get(rule_id), dev_index.get(dev_eui)
        p = -1 if r is None or d is None else int(table.pair_of[r, d])
        if p < 0:
            continue
        state.active[p] = active
        state.pending_since[p] = _nan(pending)
        state.pending_value[p] = _nan(held)
        state.streak[p] = streak
        state.last_value[p] = _nan(value)
        state.last_time[p] = _nan(time)
        state.fired_at[p] = _nan(fired)
    return state


def transition_rows(table: RuleTable, transitions: Transitions) -> list[TransitionRow]:
    """What the alert lifecycle (ingest.alerts) takes, one tuple per transition."""
    rows: list[TransitionRow] = []
    for p, fired, time_s, value in zip(
        transitions.pair.tolist(),
        transitions.fired.tolist(),
        transitions.time_s.tolist(),
        transitions.value.tolist(),
        strict=True,
    ):
        rule = table.rules[table.pair_rule[p]]
        kind = "fired" if fired else "cleared"
        rows.append(
            (rule.id, table.dev_euis[table.pair_device[p]], rule.channel, kind, time_s, _opt(value))
        )
    return rows


def ordered(
    pair: IntArray, fired: BoolArray, time_s: FloatArray, value: FloatArray, seq: IntArray
) -> Transitions:
    """Transitions sorted by time, then pair, then `seq` (the order they happened in): a
    sort on one int64 key for (pair, seq), then a stable one by time (twice as fast as
    np.lexsort on the three columns)."""
    order = np.argsort(pair * (int(seq.max(initial=0)) + 1) + seq)
    order = order[np.argsort(time_s[order], kind="stable")]
    return Transitions(pair[order], fired[order], time_s[order], value[order])


def by_time(
    pair: IntArray, fired: BoolArray, time_s: FloatArray, value: FloatArray, rank: IntArray
) -> Transitions:
    """Transitions sorted by time, then `rank` (distinct integers: by pair, then in the
    order they happened), the order `ordered` gives: an unstable sort by time, then, if
    some times are equal, one sort within the runs of equal times; several times faster
    than `ordered`'s two sorts when the rank comes for free (the kernels)."""
    order = np.argsort(time_s)
    t = time_s[order]
    tie = t[1:] == t[:-1]
    if tie.any():
        order = order[_by_rank_within(tie, rank[order])]
    return Transitions(pair[order], fired[order], time_s[order], value[order])


def _by_rank_within(tie: BoolArray, rank: IntArray) -> IntArray:
    """The permutation that sorts each run of equal times (`tie`: same time as the one
    before) by rank: a plain sort of one int64 key packing run, rank and position, when
    that fits."""
    n, low = rank.size, int(rank.min())
    span = int(rank.max()) - low + 1
    key = np.zeros(n, np.int64)  # the run of each position
    np.cumsum((~tie).view(np.int8), dtype=np.int64, out=key[1:])
    if int(key[-1] + 1) * span * n >= 1 << 62:
        return np.lexsort((rank, key))
    key *= span
    key += rank
    key -= low
    key *= n
    key += np.arange(n)
    key.sort()
    key %= n
    return key
