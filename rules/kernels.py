"""The vectorized rule engine: a batch of readings against the rule table, with numpy
passes over all (reading, pair) events at once and no Python loop per reading.

Semantics, shared with rules/reference.py (per pair, readings in time order, ties in
input order; "above" shown, "below" mirrors it with the comparisons reversed):

- A NaN value (or a rate that cannot be computed: first reading, equal times) is ignored:
  it neither meets nor breaks a condition. Rate = |Δvalue| / Δt per hour between
  consecutive non-NaN readings of the pair (one device, quantity and channel).
- A reading meets the condition when value > threshold (equal does not fire) and clears
  an active alert when value <= clear_threshold; values between keep the alert as it is.
- A run is a sequence of consecutive readings meeting the condition while not active; it
  starts pending at its first reading's time. A value holds until the next reading, so the
  run fires at F = max(start + for_s, time of its count-th reading), provided it reaches
  `count` readings and F <= the time of the reading that ends it (if any). F may lie
  between two readings: the same time `timers.due` gives when no reading comes, so a
  restarted bridge, a late timer or no timer at all give the same alerts.
- A fire and a clear may come from one reading (a held run broken by a clearing value).
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from rules.state import State, Transitions, ordered
from rules.table import RATE, Batch, BoolArray, FloatArray, IntArray, RuleTable

CHUNK = 1 << 15  # events per pass-group: ~256 KiB per float64 column


class _Parts(NamedTuple):
    """Transitions of one chunk before ordering: seq orders those of one pair."""

    pair: IntArray
    fired: BoolArray
    time_s: FloatArray
    value: FloatArray
    seq: IntArray


_NONE = _Parts(*(np.empty(0, dtype) for dtype in (np.int64, bool, float, float, np.int64)))


def match(table: RuleTable, batch: Batch) -> tuple[IntArray, IntArray]:
    """(reading index, pair) of every reading each pair must see: events of one pair are
    contiguous and in time order (ties in input order). NaN readings are dropped."""
    ok = (batch.device >= 0) & (batch.key >= 0) & ~np.isnan(batch.value)
    idx = np.flatnonzero(ok)
    key = batch.key[idx]
    order = np.lexsort((batch.time_s[idx], key * len(table.dev_euis) + batch.device[idx]))
    idx, key = idx[order], key[order]
    dev = batch.device[idx]
    bounds = np.searchsorted(key, np.arange(len(table.keys) + 1))
    readings, pairs = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for k, rules in table.rules_by_key:
        a, b = bounds[k], bounds[k + 1]
        if a == b:
            continue
        grid = table.pair_of[np.ix_(rules, dev[a:b])].ravel()
        keep = grid >= 0
        pairs.append(grid[keep].astype(np.int64))
        readings.append(np.tile(idx[a:b], rules.size)[keep])
    return np.concatenate(readings), np.concatenate(pairs)


def _shift(a: npt.NDArray[Any], starts: IntArray, start: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """a[i - 1] within a pair, `start` (one value per pair) at the pair's first event."""
    out = np.empty_like(a)
    out[1:] = a[:-1]
    out[starts] = start
    return out


def _segments(pair: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """(first event, last event, event count) of each pair's contiguous run of events."""
    first = np.ones(pair.size, bool)
    first[1:] = pair[1:] != pair[:-1]
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], pair.size) - 1
    return starts, ends, ends - starts + 1


def evaluate(
    table: RuleTable, state: State, batch: Batch, chunk: int = CHUNK
) -> tuple[State, Transitions]:
    """The new state (the input is not changed) and the transitions of one batch."""
    reading, pair = match(table, batch)
    new = state.copy()
    parts = [_NONE]
    starts = _segments(pair)[0]
    # chunks of whole pairs small enough for the CPU cache: the passes then stay in it
    at = np.searchsorted(starts, np.arange(0, pair.size, chunk))
    cuts = np.unique(starts[at[at < starts.size]])
    bounds = [*cuts.tolist(), pair.size]
    for a, b in itertools.pairwise(bounds):
        parts.append(_chunk(table, state, new, batch, reading[a:b], pair[a:b]))
    return new, ordered(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def _chunk(
    table: RuleTable, old: State, new: State, batch: Batch, reading: IntArray, pair: IntArray
) -> _Parts:
    t, x = batch.time_s[reading], batch.value[reading]
    starts, ends, lengths = _segments(pair)
    seg_pair = pair[starts]
    new.last_value[seg_pair] = x[ends]
    new.last_time[seg_pair] = t[ends]
    is_rate = table.kind[table.pair_rule[seg_pair]] == RATE
    if is_rate.any():
        dt = t - _shift(t, starts, old.last_time[seg_pair])
        dv = np.abs(x - _shift(x, starts, old.last_value[seg_pair])) * 3600.0
        rate = np.full(t.size, np.nan)
        np.divide(dv, dt, rate, where=dt > 0)
        x = np.where(np.repeat(is_rate, lengths), rate, x)
        keep = ~np.isnan(x)
        pair, t, x = pair[keep], t[keep], x[keep]
    return _hysteresis(table, old, new, pair, t, x) if pair.size else _NONE


def _hysteresis(
    table: RuleTable, old: State, new: State, pair: IntArray, t: FloatArray, x: FloatArray
) -> _Parts:
    """The state machine over all events at once: runs by segmented accumulates, then
    'active' as (last fire candidate) > (last clearing reading) in event order."""
    n = pair.size
    i = np.arange(n)
    starts, ends, lengths = _segments(pair)
    seg_pair = pair[starts]
    seg_rule = table.pair_rule[seg_pair]
    rule = np.repeat(seg_rule, lengths)
    sign = table.sign[rule]
    high = sign * x > (table.sign * table.threshold)[rule]
    low = sign * x <= (table.sign * table.clear)[rule]
    count, for_s = table.count[rule], table.for_s[rule]
    pend = old.pending_since[seg_pair]
    streak = np.where(np.isnan(pend), 0, old.streak[seg_pair])

    prev_high = np.empty(n, bool)
    prev_high[1:] = high[:-1]
    prev_high[starts] = False
    run0 = np.maximum.accumulate(np.where(prev_high, 0, i))
    carried = (run0 == np.repeat(starts, lengths)) & np.repeat(~np.isnan(pend), lengths)
    offset = np.where(carried, np.repeat(streak, lengths), 0)
    run_len = np.where(high, offset + (i - run0) + 1, 0)
    nth = run0 - offset + count - 1  # the run's count-th reading, before run0 if carried
    t_nth = np.where(nth >= run0, t[np.clip(nth, 0, n - 1)], -np.inf)
    run_start = np.where(carried, np.repeat(pend, lengths), t[run0])
    fire_at = np.maximum(run_start + for_s, t_nth)
    cand_high = high & (run_len >= count) & (t >= fire_at)
    prev_len = _shift(run_len, starts, streak)
    prev_fire_at = _shift(fire_at, starts, pend + table.for_s[seg_rule])
    cand = cand_high | (~high & (prev_len >= count) & (t >= prev_fire_at))
    fire_t = np.where(cand_high, fire_at, prev_fire_at)
    prev_x = _shift(x, starts, old.pending_value[seg_pair])
    fire_v = np.where(cand_high & (t == fire_at), x, prev_x)

    active0 = old.active[seg_pair]
    # positions in event order: a pair's initial state 4i/4i+1, fire 4i+2, clear 4i+3, so
    # a pair's first event outranks all of the previous pairs' and the accumulate restarts
    cpos, lpos = np.where(cand, 4 * i + 2, -1), np.where(low, 4 * i + 3, -1)
    cpos[starts] = np.maximum(cpos[starts], 4 * starts + active0)
    lpos[starts] = np.maximum(lpos[starts], 4 * starts + ~active0)
    active = np.maximum.accumulate(cpos) > np.maximum.accumulate(lpos)
    prev_active = _shift(active, starts, active0)
    fired = cand & ~prev_active
    cleared = low & (prev_active | cand)

    pending = ~active[ends] & high[ends]
    new.active[seg_pair] = active[ends]
    new.pending_since[seg_pair] = np.where(pending, run_start[ends], np.nan)
    new.pending_value[seg_pair] = np.where(pending, x[ends], np.nan)
    new.streak[seg_pair] = np.where(pending, run_len[ends], 0)
    last_fire = np.maximum.accumulate(np.where(fired, i, -1))[ends]
    kept = np.where(last_fire >= starts, fire_t[np.maximum(last_fire, 0)], old.fired_at[seg_pair])
    new.fired_at[seg_pair] = np.where(active[ends], kept, np.nan)

    fi, ci = np.flatnonzero(fired), np.flatnonzero(cleared)
    return _Parts(
        np.concatenate([pair[fi], pair[ci]]),
        np.concatenate([np.ones(fi.size, bool), np.zeros(ci.size, bool)]),
        np.concatenate([fire_t[fi], t[ci]]),
        np.concatenate([fire_v[fi], x[ci]]),
        np.concatenate([2 * fi, 2 * ci + 1]),
    )
