"""The vectorized rule engine: a batch of readings against the rule table, with numpy
passes and no Python loop per reading. Readings are grouped into streams (one key and
device); a pair whose stream never meets its condition while idle is settled from the
stream's extremes, and only the other pairs' events go through the state machine.

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


_EMPTY: IntArray = np.empty(0, np.int64)
_NONE = _Parts(*(np.empty(0, dtype) for dtype in (np.int64, bool, float, float, np.int64)))


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


class _Streams(NamedTuple):
    """Readings sorted by (key, device, time), ties in input order, and their streams: the
    runs of one key and device, which every pair of that key and device sees whole."""

    reading: IntArray  # batch index of each sorted reading
    first: IntArray  # per stream, its first and last position in `reading`
    last: IntArray


class _Watch(NamedTuple):
    """One row per (pair, stream) that the pair sees: the pair's events in this batch."""

    pair: IntArray
    rule: IntArray
    stream: IntArray


def _streams(table: RuleTable, batch: Batch) -> _Streams:
    """Sorted by stable radix passes on small ints: device, then key (times are sorted
    first only when the batch is not already in time order)."""
    ok = (batch.device >= 0) & (batch.key >= 0) & ~np.isnan(batch.value)
    idx = np.flatnonzero(ok)
    t = batch.time_s[idx]
    if np.any(t[1:] < t[:-1]):
        idx = idx[np.argsort(t, kind="stable")]
    for column, top in ((batch.device, len(table.dev_euis)), (batch.key, len(table.keys))):
        idx = idx[np.argsort(column[idx].astype(np.min_scalar_type(top)), kind="stable")]
    dev, key = batch.device[idx], batch.key[idx]
    new = np.ones(idx.size, bool)
    new[1:] = (dev[1:] != dev[:-1]) | (key[1:] != key[:-1])
    first = np.flatnonzero(new)
    return _Streams(idx, first, np.append(first[1:], idx.size) - 1)


def _watch(table: RuleTable, batch: Batch, streams: _Streams) -> _Watch:
    """Per key, the rules × streams grid of pair indices, without the -1 (no pair) cells."""
    head = streams.reading[streams.first]
    dev, key = batch.device[head], batch.key[head]
    bounds = np.searchsorted(key, np.arange(len(table.keys) + 1))
    cols: list[tuple[IntArray, IntArray, IntArray]] = [(_EMPTY, _EMPTY, _EMPTY)]
    for k, rules in table.rules_by_key:
        a, b = bounds[k], bounds[k + 1]
        if a == b:
            continue
        grid = table.pair_of[np.ix_(rules, dev[a:b])].ravel()
        keep = grid >= 0
        cols.append(
            (
                grid[keep].astype(np.int64),
                np.repeat(rules, b - a)[keep],
                np.tile(np.arange(a, b), rules.size)[keep],
            )
        )
    return _Watch(*(np.concatenate(c) for c in zip(*cols, strict=True)))


def _events(streams: _Streams, watch: _Watch) -> tuple[IntArray, IntArray, IntArray]:
    """(position in the sorted readings, pair) of the watched streams' events, each pair's
    contiguous, and where each (pair, stream) starts among them."""
    first, lengths = streams.first[watch.stream], (streams.last - streams.first + 1)[watch.stream]
    ends = np.cumsum(lengths)
    at = np.arange(ends[-1] if ends.size else 0) + np.repeat(first - ends + lengths, lengths)
    return at, np.repeat(watch.pair, lengths), ends - lengths


def match(table: RuleTable, batch: Batch) -> tuple[IntArray, IntArray]:
    """(reading index, pair) of every reading each pair must see: events of one pair are
    contiguous and in time order (ties in input order). NaN readings are dropped."""
    streams = _streams(table, batch)
    at, pair, _ = _events(streams, _watch(table, batch, streams))
    return streams.reading[at], pair


class _Tested(NamedTuple):
    """Per sorted reading: time, value, and rate from the stream's previous reading; per
    watched (pair, stream), the tested value of its first reading (its rate from the pair's
    last reading for rate rules). A rate that cannot be computed is NaN."""

    time_s: FloatArray
    value: FloatArray
    rate: FloatArray
    head: FloatArray


def _rate(dt: FloatArray, dv: FloatArray) -> FloatArray:
    """|Δvalue| per hour, NaN unless dt > 0."""
    out = np.full(dt.size, np.nan)
    np.divide(np.abs(dv) * 3600.0, dt, out, where=dt > 0)
    return out


def _tested(
    table: RuleTable, old: State, batch: Batch, streams: _Streams, watch: _Watch
) -> _Tested:
    t, x = batch.time_s[streams.reading], batch.value[streams.reading]
    dt, dv = np.zeros_like(t), np.zeros_like(x)
    dt[1:], dv[1:] = t[1:] - t[:-1], x[1:] - x[:-1]
    dt[streams.first] = 0.0
    head = x[streams.first[watch.stream]]
    r = np.flatnonzero(table.kind[watch.rule] == RATE)
    p, h = watch.pair[r], streams.first[watch.stream[r]]
    head[r] = _rate(t[h] - old.last_time[p], x[h] - old.last_value[p])
    return _Tested(t, x, _rate(dt, dv), head)


def _quiet(
    table: RuleTable, old: State, tested: _Tested, streams: _Streams, watch: _Watch
) -> BoolArray:
    """Per watched (pair, stream): no event meets the condition and the pair is neither
    active nor pending, so the state machine ends idle with no transition. The extremes of
    a stream's tested values decide it."""
    s, is_rate = watch.stream, table.kind[watch.rule] == RATE
    x, rate, first = tested.value, tested.rate, streams.first
    top = np.where(is_rate, np.fmax.reduceat(rate, first)[s], np.maximum.reduceat(x, first)[s])
    low = np.where(is_rate, np.fmin.reduceat(rate, first)[s], np.minimum.reduceat(x, first)[s])
    threshold = table.threshold[watch.rule]
    high = np.where(
        table.sign[watch.rule] > 0,
        np.fmax(top, tested.head) > threshold,
        np.fmin(low, tested.head) < threshold,
    )
    return ~high & ~old.active[watch.pair] & np.isnan(old.pending_since[watch.pair])


def evaluate(
    table: RuleTable, state: State, batch: Batch, chunk: int = CHUNK
) -> tuple[State, Transitions]:
    """The new state (the input is not changed) and the transitions of one batch: the
    state machine runs only on the (pair, stream)s that `_quiet` cannot settle."""
    streams = _streams(table, batch)
    watch = _watch(table, batch, streams)
    tested = _tested(table, state, batch, streams, watch)
    new = state.copy()
    last = streams.last[watch.stream]
    new.last_value[watch.pair], new.last_time[watch.pair] = tested.value[last], tested.time_s[last]
    quiet = _quiet(table, state, tested, streams, watch)
    idle = watch.pair[quiet]
    for column in (new.pending_since, new.pending_value, new.fired_at):
        column[idle] = np.nan
    new.streak[idle] = 0
    busy = _Watch(*(c[~quiet] for c in watch))
    at, pair, heads = _events(streams, busy)
    rated = np.repeat(table.kind[busy.rule] == RATE, np.diff(heads, append=at.size))
    x = np.where(rated, tested.rate[at], tested.value[at])
    x[heads] = tested.head[~quiet]
    keep = ~np.isnan(x)
    pair, t, x = pair[keep], tested.time_s[at[keep]], x[keep]
    parts = [_NONE]
    starts = _segments(pair)[0]
    # chunks of whole pairs small enough for the CPU cache: the passes then stay in it
    cut = np.searchsorted(starts, np.arange(0, pair.size, chunk))
    bounds = [*np.unique(starts[cut[cut < starts.size]]).tolist(), pair.size]
    for a, b in itertools.pairwise(bounds):
        parts.append(_hysteresis(table, state, new, pair[a:b], t[a:b], x[a:b]))
    return new, ordered(*(np.concatenate(column) for column in zip(*parts, strict=True)))


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
