"""The rule engine one reading at a time, in plain Python: the obviously correct version
of rules/kernels.py (whose docstring states the semantics), for the tests and the
benchmark only."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rules.state import State, Transitions, ordered
from rules.table import RATE, Batch, RuleTable

_STATE = (
    "active",
    "pending_since",
    "pending_value",
    "streak",
    "last_value",
    "last_time",
    "fired_at",
)


@dataclass(slots=True)
class _Pair:
    sign: float
    threshold: float
    clear: float
    for_s: float
    count: int
    rate: bool
    active: bool
    pending_since: float
    pending_value: float
    streak: int
    last_value: float
    last_time: float
    fired_at: float


def evaluate(table: RuleTable, state: State, batch: Batch) -> tuple[State, Transitions]:
    params = list(
        zip(
            table.sign.tolist(), table.threshold.tolist(), table.clear.tolist(),
            table.for_s.tolist(), table.count.tolist(), (table.kind == RATE).tolist(),
            strict=True,
        )
    )  # fmt: skip
    columns = [getattr(state, name).tolist() for name in _STATE]
    pair_rule = table.pair_rule.tolist()
    rules_of_key = dict(table.rules_by_key)
    pairs_of: dict[tuple[int, int], list[int]] = {}  # (key, device) → pairs, as met
    pairs: dict[int, _Pair] = {}  # the pairs this batch touches
    out: list[tuple[int, bool, float, float]] = []
    times, values = batch.time_s.tolist(), batch.value.tolist()
    keys, devices = batch.key.tolist(), batch.device.tolist()
    for j in sorted(range(len(batch)), key=times.__getitem__):
        if math.isnan(values[j]) or devices[j] < 0 or keys[j] not in rules_of_key:
            continue
        where = (keys[j], devices[j])
        if where not in pairs_of:
            found = table.pair_of[rules_of_key[keys[j]], devices[j]]
            pairs_of[where] = found[found >= 0].tolist()
        for p in pairs_of[where]:
            if p not in pairs:
                pairs[p] = _Pair(*params[pair_rule[p]], *(column[p] for column in columns))
            _step(pairs[p], p, times[j], values[j], out)
    new = state.copy()
    for p, pair_state in pairs.items():
        for name in _STATE:
            getattr(new, name)[p] = getattr(pair_state, name)
    pair, fired, time_s, value_ = zip(*out, strict=True) if out else ((), (), (), ())
    return new, ordered(
        np.array(pair, np.int64), np.array(fired, bool), np.array(time_s, float),
        np.array(value_, float), np.arange(len(out)),
    )  # fmt: skip


def _step(s: _Pair, p: int, t: float, v: float, out: list[tuple[int, bool, float, float]]) -> None:
    x = v
    if s.rate:
        dt = t - s.last_time
        x = abs(v - s.last_value) * 3600.0 / dt if dt > 0 else math.nan
    s.last_value, s.last_time = v, t
    if math.isnan(x):
        return
    if s.sign * x > s.sign * s.threshold:
        if s.active:
            return
        if math.isnan(s.pending_since):
            s.pending_since, s.streak = t, 0
        s.streak += 1
        due = s.pending_since + s.for_s
        if s.streak >= s.count and t >= due:
            at = t if s.streak == s.count else due
            _fire(s, p, at, x if t == at else s.pending_value, out)
        else:
            s.pending_value = x
        return
    if not s.active and s.streak >= s.count and t >= s.pending_since + s.for_s:
        _fire(s, p, s.pending_since + s.for_s, s.pending_value, out)
    s.pending_since, s.pending_value, s.streak = math.nan, math.nan, 0
    if s.active and s.sign * x <= s.sign * s.clear:
        s.active, s.fired_at = False, math.nan
        out.append((p, False, t, x))


def _fire(
    s: _Pair, p: int, at: float, value: float, out: list[tuple[int, bool, float, float]]
) -> None:
    s.active, s.fired_at = True, at
    s.pending_since, s.pending_value, s.streak = math.nan, math.nan, 0
    out.append((p, True, at, value))
